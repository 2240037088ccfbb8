"""Package-level behaviour: fast import, public names."""

import subprocess
import sys

import stswidgets


def test_import_stays_light():
    code = (
        "import sys, stswidgets, stswidgets.analysis, stswidgets.series\n"
        "heavy = ('torch', 'umap', 'pytorch_lightning', 'bqplot', 'sklearn', 'papermill')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_public_names_resolve():
    for name in stswidgets.__all__:
        assert getattr(stswidgets, name) is not None


def test_unknown_attribute_is_an_attribute_error():
    try:
        stswidgets.no_such_name  # noqa: B018
    except AttributeError as err:
        assert "no_such_name" in str(err)
    else:
        raise AssertionError("expected AttributeError")
