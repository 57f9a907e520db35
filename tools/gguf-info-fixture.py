#!/usr/bin/env python3
"""Dump a GGUF file's structure with the reference `gguf` package (gguf-py from llama.cpp).

The Swift GGUF reader is tested against this independent reader: header fields, every
metadata value (long arrays summarised by length and first/last entries) and every
tensor's name, ggml shape, type number, absolute data offset, size and first 8 bytes.

usage: ~/.cache/swiftlm/llama-venv/bin/python tools/gguf-info-fixture.py [MODEL [OUT]]
defaults: the smollm2-135m model from the model cache and
          Tests/Fixtures/smollm2-135m/gguf-info.json
"""
import json
import math
import os
import sys

import gguf

EDGE = 5          # first/last entries kept of a long array
SHORT_ARRAY = 16  # arrays up to this length are stored whole


def default_model():
    cache = os.environ.get("SWIFTLM_MODEL_DIR",
                           os.path.join(os.path.expanduser("~"), ".cache", "swiftlm", "models"))
    return os.path.join(cache, "SmolLM2-135M-Instruct.Q4_1.gguf")


def json_number(value):
    # JSON has no NaN/inf; the file does not use them, but never write invalid JSON.
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def field_entry(field):
    types = [t.name.lower() for t in field.types]
    entry = {"key": field.name, "type": types[0]}
    if field.types[0] != gguf.GGUFValueType.ARRAY:
        entry["value"] = json_number(field.contents())
        return entry
    entry["element_type"] = types[-1]
    count = len(field.data)
    entry["count"] = count
    if count <= SHORT_ARRAY:
        entry["values"] = [json_number(v) for v in field.contents()]
    else:
        entry["first"] = [json_number(field.contents(i)) for i in range(EDGE)]
        entry["last"] = [json_number(field.contents(i)) for i in range(count - EDGE, count)]
    return entry


def main():
    model = sys.argv[1] if len(sys.argv) > 1 else default_model()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        root, "Tests", "Fixtures", "smollm2-135m", "gguf-info.json")

    reader = gguf.GGUFReader(model)
    fields = list(reader.fields.values())
    # gguf-py exposes the header as pseudo-fields named GGUF.*; the real metadata follows.
    header = {f.name: f.contents() for f in fields if f.name.startswith("GGUF.")}
    metadata = [field_entry(f) for f in fields if not f.name.startswith("GGUF.")]
    tensors = [{
        "name": t.name,
        "shape": [int(d) for d in t.shape],  # ggml order: shape[0] is the row length
        "type": int(t.tensor_type),
        "offset": int(t.data_offset),        # absolute file offset
        "bytes": int(t.n_bytes),
        "head": bytes(reader.data[t.data_offset:t.data_offset + 8]).hex(),  # locates the data
    } for t in reader.tensors]

    info = {
        "file": os.path.basename(model),
        "file_size": os.path.getsize(model),
        "version": header["GGUF.version"],
        "tensor_count": header["GGUF.tensor_count"],
        "kv_count": header["GGUF.kv_count"],
        "alignment": int(reader.alignment),
        "data_offset": int(reader.data_offset),
        "metadata": metadata,
        "tensors": tensors,
    }
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        json.dump(info, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{out}: {len(metadata)} keys, {len(tensors)} tensors, {os.path.getsize(out)} bytes")


if __name__ == "__main__":
    main()
