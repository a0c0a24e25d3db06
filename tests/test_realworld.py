"""Every model file in ../shared/realworld (see its MANIFEST.md) exports with parity, or is refused by name.

46 files written by Keras 1.1 to 3.14 and published by their authors. 42 export with parity (max
relative error <= 1e-4), through the library and a few through the CLI. 4 are refused with exit 2:
two hold Lambda layers (Python code), one a custom layer (keras-tcn's TCN), and one is an
incomplete file: Keras 3.1.1's HDF5 writer stored a Bidirectional's two halves under the same
weight names, failed on the second half and stopped, so the backward LSTM and both Dense layers
have no weights in it (92 KB: exactly the forward LSTM's 19,456 floats plus the HDF5 overhead).
"""

from __future__ import annotations

import json

import pytest

from packager.errors import InputError
from packager.pipeline import ExportOptions, export_model
from tests.conftest import REALWORLD, run_pack

# file -> what the refusal message must name
REFUSED = {
    "2015131141143821__CarND-Behavioral-Cloning-Project__model.h5": ["lambda_1 (Lambda", "lambda_2 (Lambda"],
    "sriram681__attention-lstm-forecasting-project__attention_lstm_model.keras": ["lambda_51 (Lambda"],
    "IrtantiCarona__TCN-Stock-Predictor__tcn_model.keras": ["tcn (TCN"],
    "oshinrastogi__Praali_Alert_System__bilstm_model.h5": [
        "bidirectional (Bidirectional): 6 weights listed under 3 distinct names",
        "dense_8 (Dense): no weights stored",
        "dense_9 (Dense): no weights stored",
    ],
}

# Legacy files: the normalizations each one needs (at least these; Keras 3 files need none).
NORMALIZATIONS = {
    "Anmol6__kaggle-seizure-competition__LSTMSpectro_P1_test1.h5": {
        "sequential_list_config",
        "sequential_input_layer",
        "keras1_class_names",
        "keras1_arguments",
        "keras1_conv1d_kernel",
        "keras1_rnn_weights",
        "keras2_hard_sigmoid",
    },
    "umbertogriffo__Predictive-Maintenance-using-LSTM__binary_model.h5": {
        "sequential_list_config",
        "sequential_input_layer",
        "keras2_hard_sigmoid",
    },
    "umbertogriffo__Predictive-Maintenance-using-LSTM__regression_model.h5": {
        "sequential_list_config",
        "sequential_input_layer",
        "keras2_hard_sigmoid",
    },
    "kamal-rahimi__MachineTranslation__mt_seq2seq_model.h5": {"legacy_rnn_initial_state", "keras2_hard_sigmoid"},
    "anushree1001__Comparing-Multiple-Pre-trained-Neural-network-models-on-IMDB-dataset__bigru_model.h5": {
        "sequential_input_layer",
        "removed_rnn_arguments",
        "wrapped_layer_module",
        "keras2_hard_sigmoid",
    },
    "anushree1001__Comparing-Multiple-Pre-trained-Neural-network-models-on-IMDB-dataset__gru_model.h5": {
        "sequential_input_layer",
        "removed_rnn_arguments",
        "keras2_hard_sigmoid",
    },
    "anushree1001__Comparing-Multiple-Pre-trained-Neural-network-models-on-IMDB-dataset__simplernn_model.h5": {
        "sequential_input_layer",
        "removed_rnn_arguments",
    },
    "ikukang__DeepLearningWithPythonKeras__mnist_cnn.h5": {"sequential_input_layer"},
    "lyhue1991__keras_tutorial__imdb_model.h5": {"sequential_input_layer"},
    "mpkuse__my_try_NCS2__mnist_cnn.h5": {"sequential_input_layer", "initializer_dtype"},
    "pjunes__MLD_lstm_autoencoder__lstm_autoencoder.h5": {"removed_rnn_arguments", "wrapped_layer_module"},
    "ril-lexknowrep__character_language_models__bilstm_model_64.h5": {"removed_rnn_arguments"},
    "sh3ngsh3ng__CMAPSS_GRP_2__cnn_lstm_model.h5": {"removed_rnn_arguments"},
    "SandeepanML__CNN_1D_Variations__CNN1D_LSTM_Model.h5": {"removed_rnn_arguments"},
    "snapbuy__deep-learning-with-python-notebooks__jena_lstm.keras": {"removed_rnn_arguments"},
}

# A few go through the command line as a user runs it: Keras 1, a seq2seq, a masked GRU.
THROUGH_CLI = [
    "Anmol6__kaggle-seizure-competition__LSTMSpectro_P1_test1.h5",
    "kamal-rahimi__MachineTranslation__mt_seq2seq_model.h5",
    "akshitgajera1013__Email-Spam-Detection-GRU-Model-__gru_model.keras",
]


def _entries() -> list[dict]:
    manifest = REALWORLD / "manifest.json"
    return json.loads(manifest.read_text()) if manifest.is_file() else []


ENTRIES = {entry["file"]: entry for entry in _entries()}
CONVERTIBLE = sorted(name for name in ENTRIES if name not in REFUSED)


def test_the_folder_holds_what_the_counts_assume(realworld_dir):
    assert len(ENTRIES) == 46, f"manifest lists {len(ENTRIES)} files"
    assert set(REFUSED) <= set(ENTRIES) and set(NORMALIZATIONS) <= set(CONVERTIBLE)
    assert len(CONVERTIBLE) == 42


@pytest.mark.slow
@pytest.mark.realworld
@pytest.mark.parametrize("name", CONVERTIBLE or ["(none)"])
def test_realworld_file_exports_with_parity(name, realworld_dir, tmp_path):
    if name == "(none)":
        pytest.skip("no manifest.json in the real-world folder")
    result = export_model(realworld_dir / name, ExportOptions(output_dir=tmp_path / "out", bench=False))
    parity, source = result.manifest["parity"], result.manifest["source"]
    numbers = f"{name}: max abs {parity['max_abs_err']:.3g}, max rel {parity['max_rel_err']:.3g}"
    assert parity["passed"], numbers
    assert parity["max_rel_err"] <= 1e-4, numbers
    applied = set(source["normalizations"])
    if str(source["keras_version"]).startswith("3"):
        assert not applied, f"{name}: a Keras 3 file needed {sorted(applied)}"
    assert NORMALIZATIONS.get(name, set()) <= applied, f"{name}: applied {sorted(applied)}"


@pytest.mark.realworld
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_realworld_file_is_refused_by_name(name, realworld_dir, tmp_path):
    with pytest.raises(InputError) as error:
        export_model(realworld_dir / name, ExportOptions(output_dir=tmp_path / "out", bench=False))
    assert error.value.exit_code == 2
    for part in REFUSED[name]:
        assert part in str(error.value), str(error.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@pytest.mark.realworld
@pytest.mark.parametrize("name", THROUGH_CLI)
def test_realworld_file_through_the_cli(name, realworld_dir, tmp_path):
    out = tmp_path / "artifact"
    result = run_pack("export", realworld_dir / name, "-o", out, "--no-bench", "--quiet")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parity"]["passed"], manifest["parity"]
    assert (out / "model.pt").is_file() and (out / "reference.pt").is_file()


@pytest.mark.realworld
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_realworld_refusal_through_the_cli(name, realworld_dir, tmp_path):
    result = run_pack("export", realworld_dir / name, "-o", tmp_path / "out", "--no-bench")
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("pack: error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    assert all(part in errors[0] for part in REFUSED[name]), errors[0]
