"""report.md: what was converted, how well it matches Keras, and how fast it runs."""

from __future__ import annotations


def _shape(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _num(value: float) -> str:
    return f"{value:.3g}" if value == value else "n/a"  # NaN check


def layer_table(layers: list[dict]) -> list[str]:
    lines = [
        "| Keras layer | class | output shape | Keras params | torch module | torch params |",
        "|---|---|---|---:|---|---:|",
    ]
    for row in layers:
        lines.append(
            f"| {row['name']} | {row['class_name']} | {row['output_shape']} | {row['keras_params']:,} "
            f"| {row['torch_module']} | {row['torch_params']:,} |"
        )
    return lines


def parity_table(parity: dict) -> list[str]:
    lines = [
        "| stage | batch | sequence length | max abs err | max rel err | passed |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in parity["tried"]:
        length = "-" if r["seq_len"] is None else str(r["seq_len"])
        status = "yes" if r["passed"] else f"**NO**{' (' + r['note'] + ')' if r.get('note') else ''}"
        errors = f"{_num(r['max_abs_err'])} | {_num(r['max_rel_err'])}"
        lines.append(f"| {r['stage']} | {r['batch']} | {length} | {errors} | {status} |")
    return lines


def latency_table(benchmark: dict | None) -> list[str]:
    if not benchmark:
        return ["Benchmark skipped (`--no-bench`)."]
    lines = [
        "| runtime | device | threads | batch | p50 ms | p90 ms | p99 ms | samples/s | runs |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(benchmark["rows"], key=lambda r: (r["device"], r["batch"], r["threads"], r["p50_ms"])):
        where = f"{r['runtime']} | {r['device']} | {r['threads']} | {r['batch']}"
        times = f"{r['p50_ms']:.3f} | {r['p90_ms']:.3f} | {r.get('p99_ms', r['p90_ms']):.3f}"
        lines.append(f"| {where} | {times} | {r.get('throughput_per_s', 0):,.0f} | {r['iters']} |")
    notes = benchmark.get("notes") or ([benchmark["note"]] if benchmark.get("note") else [])
    lines += ["", *notes] if notes else []
    if benchmark.get("chart"):
        lines += ["", f"![latency]({benchmark['chart']})"]
    return lines


def formats_lines(manifest: dict) -> list[str]:
    entries = manifest.get("formats") or []
    if not entries:
        return []
    lines = ["", "## Other formats", ""]
    for f in entries:
        dynamic = "; ".join(f"input {i}: dims {dims}" for i, dims in enumerate(f["dynamic_dims"]))
        lines.append(f"- `{f['file']}` ({f['name']}): dynamic {dynamic}" + (f" — {f['note']}" if f.get("note") else ""))
    return lines


def render(manifest: dict) -> str:
    source, parity = manifest["source"], manifest["parity"]
    inputs = ", ".join(f"`{i['name']}` {_shape(i['shape'])} {i['dtype']}" for i in manifest["inputs"])
    outputs = ", ".join(f"`{o['name']}` {_shape(o['shape'])} {o['dtype']}" for o in manifest["outputs"])
    verdict = "passed" if parity["passed"] else "**FAILED** (written because of --allow-mismatch)"
    lines = [
        f"# {source['file']} → TorchScript",
        "",
        f"- Source: `{source['file']}` ({source['format']}, Keras {source['keras_version'] or 'unknown'}), "
        f"sha256 `{source['sha256'][:16]}…`",
        f"- Legacy normalizations: {', '.join(source['normalizations']) or 'none'}",
        f"- Inputs: {inputs}",
        f"- Outputs: {outputs}",
        f"- Export: `{manifest['export']['file']}` by torch.jit.{manifest['export']['method']}"
        + (f" — {manifest['export']['note']}" if manifest["export"].get("note") else ""),
        f"- Parity: {verdict}; max abs err {_num(parity['max_abs_err'])}, max rel err {_num(parity['max_rel_err'])} "
        f"(atol {parity['atol']:g}, rtol {parity['rtol']:g})",
        f"- Built with packager {manifest['packager_version']}, torch {manifest['torch_version']}, "
        f"Keras {manifest['keras_version_used']}",
        "",
        "## Layers",
        "",
        *layer_table(manifest["layers"]),
        "",
        "## Parity against Keras",
        "",
        *parity_table(parity),
        "",
        "## Latency",
        "",
        *latency_table(manifest.get("benchmark")),
        *formats_lines(manifest),
        "",
    ]
    return "\n".join(lines)
