"""How long each stage of `pack export` takes on the seed model."""

from __future__ import annotations

import torch

from packager.assemble import convert
from packager.keras_loader import keras_predict, load_model
from packager.pipeline import ExportOptions, export_model
from packager.runtime import numpy_runner
from packager.validate import Parity, check_stage, keras_reference


def test_stage_load(benchmark, seed):
    benchmark.group = "export stages"
    benchmark(load_model, seed["path"])


def test_stage_convert(benchmark, seed):
    benchmark.group = "export stages"
    benchmark(convert, seed["loaded"].graph)


def test_stage_validate(benchmark, seed):
    benchmark.group = "export stages"
    graph, model = seed["loaded"].graph, seed["loaded"].keras_model

    def validate():
        reference = keras_reference(graph, lambda xs: keras_predict(model, xs))
        check_stage("eager", numpy_runner(seed["eager"]), reference, Parity(1e-5, 1e-4))

    benchmark(validate)


def test_stage_script(benchmark, seed):
    benchmark.group = "export stages"
    benchmark(torch.jit.script, seed["eager"])


def test_whole_export_without_bench(benchmark, seed, tmp_path):
    benchmark.group = "export"
    benchmark.pedantic(
        lambda: export_model(seed["path"], ExportOptions(output_dir=tmp_path / "out", bench=False)), rounds=3
    )
