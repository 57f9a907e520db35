"""Makes a Hugging Face model directory from a GGUF model, for tests of swiftlm's safetensors
path: config.json, model.safetensors (or shards with model.safetensors.index.json),
tokenizer.json, tokenizer_config.json and generation_config.json.

Weights are dequantized with the `gguf` package (numpy), renamed to HF names, and put back in
HF layout: llama's q/k rows un-permuted (llama.cpp's converter permutes them for its RoPE
pairing) and gemma3's norm weights stored as w (GGUF stores 1 + w). The tokenizer.json is built
from the GGUF vocabulary: byte-level BPE (vocab, merges, added tokens, the pre-tokenizer of the
GGUF's tokenizer.ggml.pre) or SentencePiece BPE (byte fallback, merges derived from the scores).

With --reference-gguf, also writes a GGUF holding exactly the directory's weight values in GGUF
layout (same dtype), with the original metadata: the fair reference for comparing logits of
the two load paths, since both then compute with identical weights and the same kernels.

Needs only numpy and gguf (tools/python-env installs them).
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
from gguf import GGUFReader, GGUFWriter, GGMLQuantizationType, GGUFValueType
from gguf.quants import dequantize

LAYER_NAMES = {
    "attn_norm.weight": "input_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight", "attn_q.bias": "self_attn.q_proj.bias",
    "attn_k.weight": "self_attn.k_proj.weight", "attn_k.bias": "self_attn.k_proj.bias",
    "attn_v.weight": "self_attn.v_proj.weight", "attn_v.bias": "self_attn.v_proj.bias",
    "attn_output.weight": "self_attn.o_proj.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}
LLAMA_LAYER_NAMES = dict(LAYER_NAMES, **{"ffn_norm.weight": "post_attention_layernorm.weight"})
GEMMA3_LAYER_NAMES = dict(LAYER_NAMES, **{
    "post_attention_norm.weight": "post_attention_layernorm.weight",
    "ffn_norm.weight": "pre_feedforward_layernorm.weight",
    "post_ffw_norm.weight": "post_feedforward_layernorm.weight",
    "attn_q_norm.weight": "self_attn.q_norm.weight",
    "attn_k_norm.weight": "self_attn.k_norm.weight",
})
QWEN3_LAYER_NAMES = dict(LLAMA_LAYER_NAMES, **{
    "attn_q_norm.weight": "self_attn.q_norm.weight",
    "attn_k_norm.weight": "self_attn.k_norm.weight",
})
ARCHS = {
    "llama": dict(model_type="llama", cls="LlamaForCausalLM", layers=LLAMA_LAYER_NAMES),
    "qwen2": dict(model_type="qwen2", cls="Qwen2ForCausalLM", layers=LLAMA_LAYER_NAMES),
    "qwen3": dict(model_type="qwen3", cls="Qwen3ForCausalLM", layers=QWEN3_LAYER_NAMES),
    "gemma3": dict(model_type="gemma3_text", cls="Gemma3ForCausalLM", layers=GEMMA3_LAYER_NAMES),
}
QWEN2_REGEX = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
LLAMA3_REGEX = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
BYTE_LEVEL_NO_REGEX = dict(BYTE_LEVEL, use_regex=False)
PRE_TOKENIZERS = {  # tokenizer.ggml.pre → the pre_tokenizer such models ship in tokenizer.json
    "gpt-2": BYTE_LEVEL,
    "smollm": {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True}, BYTE_LEVEL]},
    "qwen2": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": QWEN2_REGEX}, "behavior": "Isolated", "invert": False},
        BYTE_LEVEL_NO_REGEX]},
    "llama-bpe": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": LLAMA3_REGEX}, "behavior": "Isolated", "invert": False},
        BYTE_LEVEL_NO_REGEX]},
}
CONTROL, USER_DEFINED, UNUSED, BYTE = 3, 4, 5, 6


def field(reader, key, default=None):
    f = reader.fields.get(key)
    return default if f is None else f.contents()


def hf_name(arch, name):
    fixed = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
             "output.weight": "lm_head.weight"}
    if name in fixed:
        return fixed[name]
    _, layer, suffix = name.split(".", 2)
    return f"model.layers.{layer}.{ARCHS[arch]['layers'][suffix]}"


def rope_rows(w, heads, to_hf):
    """llama.cpp's q/k permutation (to GGUF) or its inverse (to HF), per head of d rows."""
    d = w.shape[0] // heads
    if to_hf:
        return w.reshape(heads, d // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)
    return w.reshape(heads, 2, d // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def to_bf16_bits(x):
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def bf16_to_f32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def cast(x, dtype):
    """(stored array, its float32 values) for dtype F32/F16/BF16."""
    if dtype == "F32":
        y = np.ascontiguousarray(x, dtype=np.float32)
        return y, y
    if dtype == "F16":
        y = x.astype(np.float16)
        return y, y.astype(np.float32)
    y = to_bf16_bits(x)
    return y, bf16_to_f32(y)


def write_safetensors(path, tensors):
    """tensors: [(name, dtype, shape, ndarray)] → one file, header padded to 8 bytes (as the
    safetensors library writes it)."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + data.nbytes]}
        offset += data.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, _, _, data in tensors:
            f.write(np.ascontiguousarray(data).tobytes())


def convert_weights(reader, arch, dtype, layers):
    """[(hf name, dtype, hf shape, stored array, gguf name, float32 values in GGUF layout)]."""
    heads = field(reader, f"{arch}.attention.head_count")
    heads_kv = field(reader, f"{arch}.attention.head_count_kv", heads)
    out = []
    for t in reader.tensors:
        if t.name.startswith("blk.") and int(t.name.split(".")[1]) >= layers:
            continue
        shape = [int(n) for n in reversed(t.shape.tolist())]  # HF order: rows first
        values = dequantize(t.data, t.tensor_type).reshape(shape).astype(np.float32)
        hf = values
        if arch == "gemma3" and t.name.endswith("norm.weight"):
            hf = values - 1
        if arch == "llama" and t.name.split(".")[-2] in ("attn_q", "attn_k"):
            hf = rope_rows(values, heads if "attn_q" in t.name else heads_kv, to_hf=True)
        stored, as_f32 = cast(hf, dtype)
        gguf_values = as_f32
        if arch == "gemma3" and t.name.endswith("norm.weight"):
            gguf_values = as_f32 + np.float32(1)
        if arch == "llama" and t.name.split(".")[-2] in ("attn_q", "attn_k"):
            gguf_values = rope_rows(as_f32, heads if "attn_q" in t.name else heads_kv, to_hf=False)
        out.append((hf_name(arch, t.name), dtype, shape, stored, t.name, gguf_values))
    return out


def make_config(reader, arch, layers, has_output):
    k = lambda s, d=None: field(reader, f"{arch}.{s}", d)
    width, heads = k("embedding_length"), k("attention.head_count")
    tokens = len(reader.fields["tokenizer.ggml.tokens"].data)
    config = {
        "architectures": [ARCHS[arch]["cls"]], "model_type": ARCHS[arch]["model_type"],
        "hidden_size": width, "intermediate_size": k("feed_forward_length"),
        "num_hidden_layers": layers, "num_attention_heads": heads,
        "num_key_value_heads": k("attention.head_count_kv", heads),
        "max_position_embeddings": k("context_length"), "rms_norm_eps": k("attention.layer_norm_rms_epsilon"),
        "rope_theta": k("rope.freq_base", 10000.0), "vocab_size": k("vocab_size", tokens),
        "tie_word_embeddings": not has_output, "torch_dtype": "float32",
        "bos_token_id": field(reader, "tokenizer.ggml.bos_token_id"),
        "eos_token_id": field(reader, "tokenizer.ggml.eos_token_id"),
    }
    if arch == "gemma3":
        head_dim = k("attention.key_length")
        config.update(head_dim=head_dim, query_pre_attn_scalar=head_dim, sliding_window=k("attention.sliding_window"),
                      rope_local_base_freq=10000.0, hidden_activation="gelu_pytorch_tanh",
                      layer_types=["full_attention" if l % 6 == 5 else "sliding_attention" for l in range(layers)])
    if arch == "qwen2":
        config.update(use_sliding_window=False, hidden_act="silu")
    if arch == "qwen3":   # as Qwen3's configs: head_dim always given (not hidden_size / heads)
        config.update(head_dim=k("attention.key_length"), use_sliding_window=False, hidden_act="silu",
                      attention_bias=False, rope_scaling=None)
    return config


def sentencepiece_merges(tokens, types, scores):
    """HF's SentencePiece extraction: every split of a piece into two pieces, in score order."""
    ids = {t: i for i, t in enumerate(tokens) if types[i] in (1, BYTE)}
    merges = []
    for piece, i in ids.items():
        if types[i] == BYTE:
            continue
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in ids and right in ids:
                merges.append((-scores[i], i, ids[left], ids[right], left, right))
    merges.sort()
    return [[m[4], m[5]] for m in merges]


def make_tokenizer(reader):
    model = field(reader, "tokenizer.ggml.model")
    pre = field(reader, "tokenizer.ggml.pre", "default")
    tokens = field(reader, "tokenizer.ggml.tokens")
    types = field(reader, "tokenizer.ggml.token_type")
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": types[i] != CONTROL, "special": types[i] == CONTROL}
             for i, t in enumerate(tokens) if types[i] in (CONTROL, USER_DEFINED)]
    vocab = {t: i for i, t in enumerate(tokens) if types[i] not in (CONTROL, USER_DEFINED, UNUSED)}
    if model == "gpt2":
        if pre not in PRE_TOKENIZERS:
            sys.exit(f"make-hf-dir: no tokenizer.json pre_tokenizer known for tokenizer.ggml.pre '{pre}'")
        merges = [m.split(" ", 1) for m in field(reader, "tokenizer.ggml.merges")]
        return {"version": "1.0", "added_tokens": added, "normalizer": {"type": "NFC"} if pre == "qwen2" else None,
                "pre_tokenizer": PRE_TOKENIZERS[pre],
                "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
                "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
                "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                          "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                          "ignore_merges": False, "vocab": vocab, "merges": merges}}
    if model == "llama":
        scores = field(reader, "tokenizer.ggml.scores")
        unk = field(reader, "tokenizer.ggml.unknown_token_id")
        vocab = {t: i for i, t in enumerate(tokens) if types[i] in (1, BYTE) or i == unk}
        normalizers = [{"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]
        if field(reader, "tokenizer.ggml.add_space_prefix", True):
            normalizers.insert(0, {"type": "Prepend", "prepend": "\u2581"})
        return {"version": "1.0", "added_tokens": added,
                "normalizer": {"type": "Sequence", "normalizers": normalizers}, "pre_tokenizer": None,
                "post_processor": None,
                "decoder": {"type": "Sequence", "decoders": [
                    {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                    {"type": "ByteFallback"}, {"type": "Fuse"}]},
                "model": {"type": "BPE", "dropout": None, "unk_token": tokens[unk] if unk is not None else None,
                          "continuing_subword_prefix": None, "end_of_word_suffix": None, "fuse_unk": True,
                          "byte_fallback": True, "ignore_merges": False, "vocab": vocab,
                          "merges": sentencepiece_merges(tokens, types, scores)}}
    sys.exit(f"make-hf-dir: tokenizer.ggml.model '{model}' is not supported")


def make_tokenizer_config(reader):
    tokens = field(reader, "tokenizer.ggml.tokens")
    config = {"model_max_length": 1 << 20, "clean_up_tokenization_spaces": False}
    for name, key in (("bos", "bos_token_id"), ("eos", "eos_token_id"), ("unk", "unknown_token_id"), ("pad", "padding_token_id")):
        i = field(reader, f"tokenizer.ggml.{key}")
        if i is not None and i < len(tokens):
            config[f"{name}_token"] = tokens[i]
    for key in ("add_bos_token", "add_eos_token"):
        flag = field(reader, f"tokenizer.ggml.{key}")
        if flag is not None:
            config[key] = bool(flag)
    template = field(reader, "tokenizer.chat_template")
    if template is not None:
        config["chat_template"] = template
    return config


def copy_metadata(reader, writer, arch, layers):
    for key, f in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        value = f.contents()
        if key == f"{arch}.block_count":
            value = layers
        if key == "general.file_type":
            continue
        vtype = f.types[0]
        if vtype == GGUFValueType.ARRAY:
            writer.add_key_value(key, value, vtype, sub_type=f.types[-1])
        else:
            writer.add_key_value(key, value, vtype)


def write_reference_gguf(reader, path, arch, layers, weights):
    writer = GGUFWriter(path, arch)
    copy_metadata(reader, writer, arch, layers)
    types = {"F32": GGMLQuantizationType.F32, "F16": GGMLQuantizationType.F16, "BF16": GGMLQuantizationType.BF16}
    for _, dtype, shape, stored, gguf_name, values in weights:
        if len(shape) == 1 or dtype == "F32":
            writer.add_tensor(gguf_name, np.ascontiguousarray(values, dtype=np.float32))
        elif dtype == "F16":
            writer.add_tensor(gguf_name, values.astype(np.float16))
        else:
            bits = to_bf16_bits(values)
            writer.add_tensor(gguf_name, bits.view(np.uint8).reshape(shape[0], -1), raw_dtype=types["BF16"])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("gguf")
    p.add_argument("out_dir")
    p.add_argument("--dtype", choices=["F32", "F16", "BF16"], default="F32")
    p.add_argument("--shards", type=int, default=1, help="split the weights into this many files")
    p.add_argument("--layers", type=int, help="keep only the first N layers (smaller test models)")
    p.add_argument("--reference-gguf", help="also write the same weights as a GGUF here")
    p.add_argument("--tokenizer-only", action="store_true", help="config and tokenizer files, no weights")
    args = p.parse_args()

    reader = GGUFReader(args.gguf)
    arch = field(reader, "general.architecture")
    if arch not in ARCHS:
        sys.exit(f"make-hf-dir: architecture '{arch}' is not supported (supported: {', '.join(ARCHS)})")
    layers = min(args.layers or 1 << 30, field(reader, f"{arch}.block_count"))
    os.makedirs(args.out_dir, exist_ok=True)
    has_output = any(t.name == "output.weight" for t in reader.tensors)
    files = {
        "config.json": make_config(reader, arch, layers, has_output),
        "tokenizer.json": make_tokenizer(reader),
        "tokenizer_config.json": make_tokenizer_config(reader),
        "generation_config.json": {k: v for k, v in (("bos_token_id", field(reader, "tokenizer.ggml.bos_token_id")),
                                                     ("eos_token_id", field(reader, "tokenizer.ggml.eos_token_id"))) if v is not None},
    }
    for name, content in files.items():
        with open(os.path.join(args.out_dir, name), "w", encoding="utf-8") as f:
            json.dump(content, f, ensure_ascii=False, indent=None if name == "tokenizer.json" else 2)
    if args.tokenizer_only:
        return
    weights = convert_weights(reader, arch, args.dtype, layers)
    rows = [(w[0], w[1], w[2], w[3]) for w in weights]
    if args.shards <= 1:
        write_safetensors(os.path.join(args.out_dir, "model.safetensors"), rows)
    else:
        per = -(-len(rows) // args.shards)
        weight_map = {}
        for s in range(args.shards):
            name = f"model-{s + 1:05d}-of-{args.shards:05d}.safetensors"
            part = rows[s * per:(s + 1) * per]
            write_safetensors(os.path.join(args.out_dir, name), part)
            weight_map.update({r[0]: name for r in part})
        index = {"metadata": {"total_size": sum(r[3].nbytes for r in rows)}, "weight_map": weight_map}
        with open(os.path.join(args.out_dir, "model.safetensors.index.json"), "w") as f:
            json.dump(index, f, indent=2)
    if args.reference_gguf:
        write_reference_gguf(reader, args.reference_gguf, arch, layers, weights)


if __name__ == "__main__":
    main()
