"""The fast paths behind the lessons: same numbers as the plain code, computed so a laptop CPU can keep up.

The lessons read and call the plain computations; these kernels give the same numbers faster, and the
tests hold them equal. Nothing here is needed to understand SPLADE; read it to see why the course runs in
minutes instead of hours.

- :mod:`.mlm_head`: the MLM head's last layer and SPLADE's max pooling without the (tokens x vocabulary)
  logits in memory, skipping (through an exact int8 product with an error bound) the terms whose maximum
  cannot be positive. Same vectors as :func:`splade_helpers.sparse.splade_pool` over the model's logits
  (the same dot products; tested bit for bit against the full product, within 1e-5 against the library).
- :mod:`.training_head`: the same head with a backward pass, for training. Same vectors and gradients as
  sentence-transformers' ``MLMTransformer`` + ``SpladePooling`` (tested).
"""

from .mlm_head import head_input, max_pooled_logits
from .training_head import PooledHead, fast_splade_head, splade_forward

__all__ = ["PooledHead", "fast_splade_head", "head_input", "max_pooled_logits", "splade_forward"]
