"""SPLADE encoding throughput on Cranfield documents: the package vs sentence-transformers vs the reference article's code.

    python benchmarks/encoding.py [--docs 300] [--repeat 3] [--threads 2] [--quality]

Same model, same thread count, the three encoders interleaved in every round, median of the rounds:
- package: splade_helpers.SpladeEncoder.encode (length-sorted batches, max before activation);
- sentence-transformers: SparseEncoder.encode (MLMTransformer + SpladePooling);
- article: the reference article's SPLADEEncoder.encode, one text at a time.
It also times a plain fp32 matmul of the MLM head's shape ((tokens x hidden) @ (hidden x
vocab)) and reports effective GFLOPS: the full head's FLOPs over the whole encoding time (the float32
head computes only the terms an exact int8 product with an error bound cannot rule out, so it can beat a
plain matmul of that shape). Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import splade_helpers as sh  # noqa: E402


def article_encode(tokenizer, model, text: str) -> dict:
    """The reference article's SPLADEEncoder.encode, verbatim in substance (one text, max_length 512)."""
    tokens = tokenizer(text, return_tensors="pt", max_length=512, truncation=True)
    with torch.no_grad():
        logits = model(**tokens).logits
        vec = torch.max(torch.log1p(torch.relu(logits)) * tokens.attention_mask.unsqueeze(-1), dim=1)[0].squeeze()
    idx = vec.nonzero().squeeze().tolist()
    return {"indices": idx, "values": vec[idx].tolist()}


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=300, help="first N Cranfield documents (1400 = all)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dataset", default="cranfield")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from sentence_transformers import SparseEncoder

    texts = [t for t in sh.load_dataset(args.dataset).doc_texts if t.strip()][: args.docs]
    enc = sh.SpladeEncoder(cache=False)
    st = SparseEncoder(str(enc.source.path), device="cpu")
    tokens = sum(enc.tokenizer(texts, truncation=True, max_length=512, return_length=True)["length"])
    # correctness first: the package equals sentence-transformers
    ours = enc.encode_documents(texts, cache=False).toarray()
    theirs = st.encode(texts, convert_to_tensor=True).to_dense().numpy()
    max_diff = float(np.abs(ours - theirs).max())

    runs = {"package": [], "sentence-transformers": [], "article (one at a time)": []}
    for _ in range(args.repeat):  # interleaved, so machine noise hits all alike
        runs["package"].append(timed(lambda: enc.encode_documents(texts, cache=False)))
        runs["sentence-transformers"].append(timed(lambda: st.encode(texts, convert_to_tensor=True)))
        runs["article (one at a time)"].append(timed(lambda: [article_encode(enc.tokenizer, enc.model, t) for t in texts]))
    med = {k: statistics.median(v) for k, v in runs.items()}

    hidden, vocab = enc.model.config.hidden_size, enc.vocab_size
    head_flops = 2.0 * tokens * hidden * vocab
    weight = enc.model.get_output_embeddings().weight.detach()
    x = torch.randn(4096, hidden)
    reps = max(1, tokens // 4096)
    with torch.inference_mode():
        matmul_s = statistics.median(timed(lambda: [x @ weight.T for _ in range(reps)]) for _ in range(args.repeat))
    matmul_gflops = 2.0 * reps * 4096 * hidden * vocab / matmul_s / 1e9
    package_gflops = head_flops / med["package"] / 1e9  # whole encoding counted against the head's FLOPs

    print(f"{len(texts)} documents, {tokens:,} tokens, {args.threads} threads, median of {args.repeat} interleaved rounds")
    print(f"package == sentence-transformers: max |difference| {max_diff:.1e}")
    for name, s in med.items():
        print(f"  {name:<24}{s:8.2f} s  {len(texts) / s:7.1f} docs/s  x{med['sentence-transformers'] / s:.2f} vs sentence-transformers")
    speedup, head_share = med["sentence-transformers"] / med["package"], package_gflops / matmul_gflops
    print(f"MLM head: {head_flops / 1e12:.2f} TFLOP; package end to end {package_gflops:.0f} GFLOPS "
          f"vs plain matmul of the same shape {matmul_gflops:.0f} GFLOPS ({head_share:.0%})")
    print(f"targets: >= 1.5x sentence-transformers: {'met' if speedup >= 1.5 else 'NOT met'} ({speedup:.2f}x); "
          f"head >= 80 % of the matmul: {'met' if head_share >= 0.8 else 'NOT met'} ({head_share:.0%})")
    print(json.dumps({"benchmark": "encoding", "docs": len(texts), "tokens": tokens, "threads": args.threads,
                      "seconds": {k: round(v, 3) for k, v in med.items()},
                      "speedup_vs_sentence_transformers": round(speedup, 2), "head_share_of_matmul": round(head_share, 2),
                      "targets_met": speedup >= 1.5 and head_share >= 0.8 and max_diff <= 1e-5,
                      "max_abs_diff": max_diff, "package_gflops": round(package_gflops, 1),
                      "matmul_gflops": round(matmul_gflops, 1)}))


if __name__ == "__main__":
    main()
