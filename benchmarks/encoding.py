"""SPLADE encoding throughput on Cranfield documents: the package vs sentence-transformers vs the reference article's code.

    python benchmarks/encoding.py [--docs 300] [--repeat 3] [--threads 2] [--save]

Same model, same thread count, the three encoders interleaved in every round, median of the rounds:
- package: splade_helpers.SpladeEncoder.encode (length-sorted batches, max before activation);
- sentence-transformers: SparseEncoder.encode (MLMTransformer + SpladePooling);
- article: the reference article's SPLADEEncoder.encode, one text at a time.
It also times a plain float32 matmul of the MLM head's shape ((tokens x hidden) @ (hidden x vocab)) and
reports effective GFLOPS: the full head's FLOPs over the whole encoding time (the package's head computes
only the terms an exact int8 product with an error bound cannot rule out, so it can beat a plain matmul of
that shape). Prints a table, then one JSON line; ``--save`` writes benchmarks/results/encoding.json.
"""

from __future__ import annotations

import common  # first: the environment flags, before anything imports tqdm or Hugging Face code

import numpy as np
import torch

import splade_helpers as sh
from splade_helpers.timing import Stopwatch

TARGETS = {"speedup_vs_sentence_transformers": (">=", 1.5), "head_share_of_matmul": (">=", 0.8),
           "max_abs_diff": ("<=", 1e-5)}


def article_encode(tokenizer, model, text: str) -> dict:
    """The reference article's SPLADEEncoder.encode, verbatim in substance (one text, max_length 512)."""
    tokens = tokenizer(text, return_tensors="pt", max_length=512, truncation=True)
    with torch.no_grad():
        logits = model(**tokens).logits
        vec = torch.max(torch.log1p(torch.relu(logits)) * tokens.attention_mask.unsqueeze(-1), dim=1)[0].squeeze()
    idx = vec.nonzero().squeeze().tolist()
    return {"indices": idx, "values": vec[idx].tolist()}


def main() -> None:
    parser = common.parser(__doc__, repeat=3)
    parser.add_argument("--docs", type=int, default=300, help="first N Cranfield documents (1400 = all)")
    parser.add_argument("--threads", type=int, default=2)
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

    watches = {"package": Stopwatch(), "sentence-transformers": Stopwatch(), "article (one at a time)": Stopwatch()}
    for _ in range(args.repeat):  # interleaved, so machine noise hits all alike
        with watches["package"]:
            enc.encode_documents(texts, cache=False)
        with watches["sentence-transformers"]:
            st.encode(texts, convert_to_tensor=True)
        with watches["article (one at a time)"]:
            [article_encode(enc.tokenizer, enc.model, t) for t in texts]
    med = {k: w.median for k, w in watches.items()}

    hidden, vocab = enc.model.config.hidden_size, enc.vocab_size
    head_flops = 2.0 * tokens * hidden * vocab
    weight = enc.model.get_output_embeddings().weight.detach()
    x = torch.randn(4096, hidden)
    reps = max(1, tokens // 4096)
    matmul = Stopwatch()
    with torch.inference_mode():
        for _ in range(args.repeat):
            with matmul:
                [x @ weight.T for _ in range(reps)]
    matmul_gflops = 2.0 * reps * 4096 * hidden * vocab / matmul.median / 1e9
    package_gflops = head_flops / med["package"] / 1e9  # whole encoding counted against the head's FLOPs
    speedup, head_share = med["sentence-transformers"] / med["package"], package_gflops / matmul_gflops

    print(f"{len(texts)} documents, {tokens:,} tokens, {args.threads} threads, median of {args.repeat} interleaved rounds")
    print(f"package == sentence-transformers: max |difference| {max_diff:.1e}")
    for name, s in med.items():
        print(f"  {name:<24}{s:8.2f} s  {len(texts) / s:7.1f} docs/s  x{med['sentence-transformers'] / s:.2f} vs sentence-transformers")
    print(f"MLM head: {head_flops / 1e12:.2f} TFLOP; package end to end {package_gflops:.0f} GFLOPS "
          f"vs plain matmul of the same shape {matmul_gflops:.0f} GFLOPS ({head_share:.0%})")
    judged = common.judge({"speedup_vs_sentence_transformers": round(speedup, 2), "head_share_of_matmul": round(head_share, 2),
                           "max_abs_diff": max_diff}, TARGETS)
    print("targets: " + "; ".join(common.verdict(k, judged) for k in judged["met"]))
    common.finish("encoding", {
        "dataset": args.dataset, "docs": len(texts), "tokens": tokens, "threads": args.threads, "repeat": args.repeat,
        "seconds": {k: round(v, 3) for k, v in med.items()},
        "package_gflops": round(package_gflops, 1), "matmul_gflops": round(matmul_gflops, 1), **judged}, args.save)


if __name__ == "__main__":
    main()
