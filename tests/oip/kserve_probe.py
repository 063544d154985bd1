"""Run by the KServe client's own virtualenv (kserve==0.21.0 cannot join the shared one: it would downgrade
protobuf), against a served Atlas: prints what KServe's InferenceRESTClient got, as JSON.

    python kserve_probe.py URL MODEL ROWS.npy
"""

import asyncio
import json
import sys

import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import RequestedOutput


async def main(url: str, model: str, rows: np.ndarray) -> dict:
    client = InferenceRESTClient(RESTConfig(protocol="v2", timeout=30))
    found = {
        "live": await client.is_server_live(url),
        "ready": await client.is_server_ready(url),
        "model_ready": await client.is_model_ready(url, model),
    }
    for binary in (False, True):
        tensor = InferInput("X", list(rows.shape), "FP32")
        tensor.set_data_from_numpy(rows, binary_data=binary)
        outputs = [RequestedOutput("probabilities", parameters={"binary_data": binary})]
        request = InferRequest(model_name=model, infer_inputs=[tensor], request_id="k1", request_outputs=outputs)
        answer = await client.infer(url, request, model_name=model)
        found["binary" if binary else "json"] = {
            "model_name": answer.model_name,  # its REST decoding keeps no model_version
            "id": answer.id,
            "probabilities": answer.outputs[0].as_numpy().tolist(),
        }
    await client.close()
    return found


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2], np.load(sys.argv[3])))))
