"""sentence-transformers' own SPLADE path, the reference for the objective and the training head (tests only)."""

import torch

import splade_helpers as sh

QUERIES = ["flutter of swept wings", "heat transfer in hypersonic flow", "buckling of cylinders", "boundary layer transition"]
DOCS = ["Flutter tests of swept-wing models at transonic speeds in a wind tunnel.", "Measurements of heat transfer to a cone at Mach 7.",
        "Buckling of thin cylindrical shells under axial compression and external pressure.",
        "Transition of the laminar boundary layer on a flat plate."]


def library_model():
    from sentence_transformers import SparseEncoder

    model = SparseEncoder(str(sh.resolve_model(None, "splade").path), device="cpu")
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0  # the same forward pass twice
    return model


def features(model, texts):
    f = model.preprocess(texts)
    f.pop("modality", None)
    return f
