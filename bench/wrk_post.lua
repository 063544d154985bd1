-- wrk script: POST the JSON body in the file named by $BENCH_BODY (bench/measure.py sets it).
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
