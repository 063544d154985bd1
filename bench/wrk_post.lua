-- wrk script: POST the body in the file named by $BENCH_BODY, as $BENCH_CONTENT_TYPE (default JSON);
-- bench/measure.py sets both.
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE") or "application/json"
-- $BENCH_INFER_HEADER: the Open Inference Protocol's binary body, its JSON part's length (bench/v2_infer.py)
local header = os.getenv("BENCH_INFER_HEADER")
if header then wrk.headers["Inference-Header-Content-Length"] = header end
