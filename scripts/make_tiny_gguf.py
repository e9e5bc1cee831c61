"""Write a tiny, deterministic, random-weights llama-architecture GGUF for the real-server tier.

The tokenizer (and its special tokens) is copied from a vocab-only GGUF that llama.cpp ships, and
the chat template is a tool-aware one, so the servers run their real template, tokenizer and
tool-call parsing code on it.  The weights are seeded: every machine writes the same bytes.
Its text is gibberish; the end-of-turn rows are raised a little so answers stop on their own
now and then, as real models do (the suite must then say INCONCLUSIVE, never FAIL).

Run with gguf-py (from llama.cpp) and numpy importable; see scripts/real-servers.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from gguf import GGUFReader, GGUFValueType, GGUFWriter

N_EMBD = 64
N_LAYERS = 2
N_HEADS = 4
N_FF = 128
N_CTX = 8192
SEED = 20261204
END_OF_TURN_BOOST = 4.0  # scale of the end-of-turn rows of the output matrix


def copy_tokenizer(vocab: Path, writer: GGUFWriter) -> tuple[list[str], int]:
    """Copy every tokenizer.* key of the vocab-only GGUF; return the token list and the EOS id."""
    reader = GGUFReader(vocab)
    tokens: list[str] = []
    eos = -1
    for name, field in reader.fields.items():
        if not name.startswith("tokenizer.") or name == "tokenizer.chat_template":
            continue
        value = field.contents()
        main = field.types[0]
        if main == GGUFValueType.ARRAY:
            writer.add_key_value(name, value, main, sub_type=field.types[-1])
        else:
            writer.add_key_value(name, value, main)
        if name == "tokenizer.ggml.tokens":
            tokens = value
        if name == "tokenizer.ggml.eos_token_id":
            eos = int(value)
    return tokens, eos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vocab", type=Path, required=True, help="a vocab-only GGUF (e.g. ggml-vocab-qwen2.gguf)")
    parser.add_argument("--template", type=Path, required=True, help="a Jinja chat template")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    writer = GGUFWriter(args.out, "llama")
    writer.add_name("tiny-random")
    writer.add_context_length(N_CTX)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYERS)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEADS)
    writer.add_head_count_kv(N_HEADS)
    writer.add_rope_dimension_count(N_EMBD // N_HEADS)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(1)  # mostly F16
    tokens, eos = copy_tokenizer(args.vocab, writer)
    writer.add_chat_template(args.template.read_text(encoding="utf-8"))

    rng = np.random.default_rng(SEED)
    n_vocab = len(tokens)

    def matrix(rows: int, cols: int) -> np.ndarray:
        return (rng.standard_normal((rows, cols)) / np.sqrt(cols)).astype(np.float16)

    writer.add_tensor("token_embd.weight", matrix(n_vocab, N_EMBD))
    for layer in range(N_LAYERS):
        prefix = f"blk.{layer}"
        writer.add_tensor(f"{prefix}.attn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            writer.add_tensor(f"{prefix}.{name}.weight", matrix(N_EMBD, N_EMBD))
        writer.add_tensor(f"{prefix}.ffn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        writer.add_tensor(f"{prefix}.ffn_gate.weight", matrix(N_FF, N_EMBD))
        writer.add_tensor(f"{prefix}.ffn_up.weight", matrix(N_FF, N_EMBD))
        writer.add_tensor(f"{prefix}.ffn_down.weight", matrix(N_EMBD, N_FF))
    writer.add_tensor("output_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    output = matrix(n_vocab, N_EMBD)
    end_of_turn = [i for i, t in enumerate(tokens) if t in ("<|im_end|>", "<|endoftext|>")] or [eos]
    output[end_of_turn] = (output[end_of_turn].astype(np.float32) * END_OF_TURN_BOOST).astype(np.float16)
    writer.add_tensor("output.weight", output)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    main()
