"""Figures for the benchmark scripts: each script passes its figure's data here; this module
stores it beside the figure (Benchmarks/figures/NAME.json, so a figure can be redrawn without
rerunning the benchmark) and draws NAME.svg with Benchmarks/plot in the matplotlib environment
of Benchmarks/plot-env. Standard library only, like the scripts that import it."""
import json, os, subprocess

BENCHMARKS = os.path.dirname(os.path.abspath(__file__))
FIGURES = os.path.join(BENCHMARKS, "figures")


def write_figure(name, kind, data):
    """Draws figure `name` of `kind` (see Benchmarks/plot) and returns its path relative to
    Benchmarks/, for a markdown image link in RESULTS.md."""
    os.makedirs(FIGURES, exist_ok=True)
    data_path = os.path.join(FIGURES, f"{name}.json")
    with open(data_path, "w") as f:
        json.dump({"kind": kind, **data}, f, indent=1)
    python = subprocess.run([os.path.join(BENCHMARKS, "plot-env")], check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run([python, os.path.join(BENCHMARKS, "plot"), data_path], check=True)
    return f"figures/{name}.svg"


def image_line(title, relative_path):
    return f"![{title}]({relative_path})"
