"""SPLADE encoding throughput on Cranfield documents: the package vs sentence-transformers vs the reference article's code.

    python benchmarks/encoding.py [--docs 300] [--repeat 3] [--threads 2] [--quality]

Same model, same thread count, the three encoders interleaved in every round, median of the rounds:
- package: splade_helpers.SpladeEncoder.encode_batch (length-sorted batches, max before activation);
- sentence-transformers: SparseEncoder.encode (MLMTransformer + SpladePooling);
- article: the reference article's SPLADEEncoder.encode, one text at a time;
- package with ``head_dtype="bfloat16"`` (the optional reduced-precision head).
It also times a plain fp32 (and bf16) matmul of the MLM head's shape ((tokens x hidden) @ (hidden x
vocab)) and reports effective GFLOPS: the full head's FLOPs over the whole encoding time (the float32
head computes only the terms an exact int8 product with an error bound cannot rule out, so it can beat a
plain matmul of that shape). ``--quality`` adds Cranfield nDCG@10 of SPLADE with the float32
and the bfloat16 head (all 1,400 documents, encodings cached). Prints a table, then one JSON line.
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
    parser.add_argument("--quality", action="store_true", help="also Cranfield nDCG@10, float32 vs bfloat16 head")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from sentence_transformers import SparseEncoder

    texts = [t for t in sh.load_dataset(args.dataset).doc_texts if t.strip()][: args.docs]
    enc = sh.SpladeEncoder(cache=False)
    enc16 = sh.SpladeEncoder(cache=False, head_dtype="bfloat16")
    st = SparseEncoder(str(enc.source.path), device="cpu")
    tokens = sum(enc.tokenizer(texts, truncation=True, max_length=512, return_length=True)["length"])
    # correctness first: the package equals sentence-transformers
    ours = enc.encode_batch(texts, cache=False).toarray()
    theirs = st.encode(texts, convert_to_tensor=True).to_dense().numpy()
    max_diff = float(np.abs(ours - theirs).max())
    bf16_diff = float(np.abs(enc16.encode_batch(texts, cache=False).toarray() - ours).max())

    runs = {"package": [], "sentence-transformers": [], "article (one at a time)": [], "package, bf16 head": []}
    for _ in range(args.repeat):  # interleaved, so machine noise hits all alike
        runs["package"].append(timed(lambda: enc.encode_batch(texts, cache=False)))
        runs["sentence-transformers"].append(timed(lambda: st.encode(texts, convert_to_tensor=True)))
        runs["article (one at a time)"].append(timed(lambda: [article_encode(enc.tokenizer, enc.model, t) for t in texts]))
        runs["package, bf16 head"].append(timed(lambda: enc16.encode_batch(texts, cache=False)))
    med = {k: statistics.median(v) for k, v in runs.items()}

    hidden, vocab = enc.model.config.hidden_size, enc.vocab_size
    head_flops = 2.0 * tokens * hidden * vocab
    weight = enc.model.get_output_embeddings().weight.detach()
    x = torch.randn(4096, hidden)
    reps = max(1, tokens // 4096)
    x16, weight16 = x.bfloat16(), weight.bfloat16()
    with torch.inference_mode():
        matmul_s = statistics.median(timed(lambda: [x @ weight.T for _ in range(reps)]) for _ in range(args.repeat))
        matmul16_s = statistics.median(timed(lambda: [x16 @ weight16.T for _ in range(reps)]) for _ in range(args.repeat))
    matmul_gflops = 2.0 * reps * 4096 * hidden * vocab / matmul_s / 1e9
    matmul16_gflops = 2.0 * reps * 4096 * hidden * vocab / matmul16_s / 1e9
    package_gflops = head_flops / med["package"] / 1e9  # whole encoding counted against the head's FLOPs
    package16_gflops = head_flops / med["package, bf16 head"] / 1e9
    quality = ndcg_float32_vs_bfloat16() if args.quality else {}

    print(f"{len(texts)} documents, {tokens:,} tokens, {args.threads} threads, median of {args.repeat} interleaved rounds")
    print(f"package == sentence-transformers: max |difference| {max_diff:.1e}")
    for name, s in med.items():
        print(f"  {name:<24}{s:8.2f} s  {len(texts) / s:7.1f} docs/s  x{med['sentence-transformers'] / s:.2f} vs sentence-transformers")
    print(f"bf16 head vs float32 head: max |difference| {bf16_diff:.1e}")
    speedup, head_share = med["sentence-transformers"] / med["package"], package_gflops / matmul_gflops
    print(f"MLM head: {head_flops / 1e12:.2f} TFLOP; package end to end {package_gflops:.0f} GFLOPS "
          f"vs plain matmul of the same shape {matmul_gflops:.0f} GFLOPS ({head_share:.0%})")
    print(f"targets: >= 1.5x sentence-transformers: {'met' if speedup >= 1.5 else 'NOT met'} ({speedup:.2f}x); "
          f"head >= 80 % of the matmul: {'met' if head_share >= 0.8 else 'NOT met'} ({head_share:.0%})")
    print(f"bf16 head: package end to end {package16_gflops:.0f} GFLOPS vs plain bf16 matmul {matmul16_gflops:.0f} GFLOPS "
          f"({package16_gflops / matmul16_gflops:.0%})")
    if quality:
        print(f"Cranfield SPLADE nDCG@10: float32 head {quality['float32']:.4f}, bfloat16 head {quality['bfloat16']:.4f} "
              f"(difference {quality['bfloat16'] - quality['float32']:+.4f})")
    print(json.dumps({"benchmark": "encoding", "docs": len(texts), "tokens": tokens, "threads": args.threads,
                      "seconds": {k: round(v, 3) for k, v in med.items()},
                      "speedup_vs_sentence_transformers": round(speedup, 2), "head_share_of_matmul": round(head_share, 2),
                      "targets_met": speedup >= 1.5 and head_share >= 0.8 and max_diff <= 1e-5,
                      "max_abs_diff": max_diff, "package_gflops": round(package_gflops, 1),
                      "matmul_gflops": round(matmul_gflops, 1),
                      "speedup_bf16_vs_float32": round(med["package"] / med["package, bf16 head"], 2),
                      "bf16_max_abs_diff": bf16_diff, "package_bf16_gflops": round(package16_gflops, 1),
                      "matmul_bf16_gflops": round(matmul16_gflops, 1),
                      **({"ndcg10": {k: round(v, 4) for k, v in quality.items()}} if quality else {})}))


def ndcg_float32_vs_bfloat16() -> dict[str, float]:
    """SPLADE nDCG@10 on all Cranfield queries with each head precision (encodings cached on disk)."""
    ds = sh.load_dataset("cranfield")
    out = {}
    for dtype in ("float32", "bfloat16"):
        retriever = sh.SpladeRetriever(sh.SpladeEncoder(head_dtype=dtype)).index(ds.doc_ids, ds.doc_texts)
        run = retriever.run(ds.query_ids, ds.query_texts, 100)
        out[dtype] = sh.evaluate_run(run, ds.qrels)[0]["nDCG@10"]
    return out


if __name__ == "__main__":
    main()
