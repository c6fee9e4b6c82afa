"""Starts one IPython kernel (Debian's ipykernel) for a Python context of the interpreter server,
with the extra display formats the SDK knows: `e2b/data` for pandas DataFrames and `e2b/chart`
for matplotlib figures, and PIL images shown when saved to a file (as the hosted interpreter
does). Arguments are ipykernel's (`-f connection-file ...`).

Everything here is lazy: pandas, matplotlib and PIL are imported by the user's code, not by the
kernel's start, so that a context is ready as soon as IPython is.
"""
import codecs
import datetime
import math
import numbers
import os
import sys

# ipykernel imports debugpy (about 0.2 s) for a debugger, and IPython jedi (about 40 ms) for
# completions: this server offers neither.
sys.modules["debugpy"] = None
sys.modules["jedi"] = None
# This file's folder must not shadow the user's modules; ipykernel puts the working directory first.
del sys.path[0]

from IPython.core.formatters import BaseFormatter  # noqa: E402
from ipykernel.kernelapp import IPKernelApp  # noqa: E402
from traitlets import ObjectName, Unicode  # noqa: E402


class DataFormatter(BaseFormatter):
    format_type = Unicode("e2b/data")
    print_method = ObjectName("_repr_e2b_data_")
    _return_type = (dict,)


class ChartFormatter(BaseFormatter):
    format_type = Unicode("e2b/chart")
    print_method = ObjectName("_repr_e2b_chart_")
    _return_type = (dict,)

    def __call__(self, obj):
        # Figures are recognised here instead of registered as a type: matplotlib_inline removes
        # every formatter's entry for Figure when pyplot sets up the inline backend.
        if any(c.__module__ == "matplotlib.figure" and c.__name__ == "Figure" for c in type(obj).__mro__):
            return chart_or_none(obj)
        return super().__call__(obj)


def _finite(value):
    """NaN and infinities are not JSON: the message would fail to encode."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def frame_data(frame):
    return {str(column): [_finite(v) for v in values] for column, values in frame.to_dict(orient="list").items()}


def _text_or_none(text):
    return text if text else None


def _unit(label):
    """'Time (s)' or 'Time [s]' -> 's'."""
    if not label:
        return None
    for opening, closing in (("(", ")"), ("[", "]")):
        end = label.rfind(closing)
        start = label.rfind(opening, 0, end)
        if start != -1 and end == len(label.rstrip()) - 1:
            return label[start + 1:end].strip() or None
    return None


def _number(value):
    try:
        return _finite(float(value))
    except (TypeError, ValueError):
        return str(value)


def _axis_fields(ax):
    x_label = _text_or_none(ax.get_xlabel())
    y_label = _text_or_none(ax.get_ylabel())
    return {
        "title": _text_or_none(ax.get_title()),
        "x_label": x_label,
        "y_label": y_label,
        "x_unit": _unit(x_label),
        "y_unit": _unit(y_label),
    }


def _scale(axis):
    """The SDK's ScaleType of an axis: `datetime` and `categorical` come from the unit converter
    matplotlib chose for the data (dates, strings), the others from the axis's own scale."""
    from matplotlib import category, dates

    get_converter = getattr(axis, "get_converter", None)
    converter = get_converter() if get_converter else axis.converter
    date_converters = tuple(
        c for c in (getattr(dates, name, None) for name in ("DateConverter", "_SwitchableDateConverter")) if c
    )
    if isinstance(converter, date_converters):
        return "datetime"
    if isinstance(converter, category.StrCategoryConverter):
        return "categorical"
    return axis.get_scale()


def _date_text(value):
    """A date on a datetime axis as ISO 8601, whether the data held it as a datetime, a numpy
    datetime64 or matplotlib's own number of days."""
    import numpy
    from matplotlib import dates

    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, numpy.datetime64):
        return str(value.astype("datetime64[s]"))
    try:
        return dates.num2date(float(value)).isoformat()
    except (TypeError, ValueError, OverflowError):
        return _number(value)


def _coordinate(value, scale, axis):
    if scale == "datetime":
        return _date_text(value)
    if scale == "categorical" and isinstance(value, numbers.Real):
        # Scatter offsets hold a category's index; the user gave its name.
        mapping = getattr(getattr(axis, "units", None), "_mapping", None) or {}
        for name, index in mapping.items():
            if index == value:
                return str(name)
    return _number(value)


def _ticks(ax):
    fields = {}
    for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
        scale = _scale(axis)
        ticks = axis.get_ticklocs()
        fields[name + "_ticks"] = [_date_text(t) if scale == "datetime" else _number(t) for t in ticks]
        fields[name + "_tick_labels"] = [t.get_text() for t in axis.get_ticklabels()]
        fields[name + "_scale"] = scale
    return fields


def _series_label(artist, index):
    label = artist.get_label()
    return label if label and not label.startswith("_") else "series %d" % index


def _kind(ax):
    from matplotlib.collections import PathCollection
    from matplotlib.container import BarContainer
    from matplotlib.patches import PathPatch, Wedge

    found = {
        "line": list(ax.get_lines()),
        "scatter": [c for c in ax.collections if isinstance(c, PathCollection)],
        "bar": [c for c in ax.containers if isinstance(c, BarContainer)],
        "pie": [p for p in ax.patches if isinstance(p, Wedge)],
    }
    # A box plot drawn with patch_artist=True: boxes are PathPatches, whiskers and medians lines.
    if any(isinstance(p, PathPatch) for p in ax.patches) and not (found["scatter"] or found["bar"] or found["pie"]):
        return "box_and_whisker"
    present = [kind for kind, artists in found.items() if artists]
    return present[0] if len(present) == 1 else "unknown"


def _line_chart(ax, kind):
    fields = {"type": kind, **_axis_fields(ax), **_ticks(ax)}
    x_scale, y_scale = fields["x_scale"], fields["y_scale"]

    def point(x, y):
        return [_coordinate(x, x_scale, ax.xaxis), _coordinate(y, y_scale, ax.yaxis)]

    elements = []
    if kind == "line":
        for i, line in enumerate(ax.get_lines()):
            points = [point(x, y) for x, y in zip(line.get_xdata(), line.get_ydata())]
            elements.append({"label": _series_label(line, i), "points": points})
    else:
        from matplotlib.collections import PathCollection

        series = [c for c in ax.collections if isinstance(c, PathCollection)]
        for i, collection in enumerate(series):
            points = [point(x, y) for x, y in collection.get_offsets()]
            elements.append({"label": _series_label(collection, i), "points": points})
    fields["elements"] = elements
    return fields


def _bar_chart(ax):
    fields = {"type": "bar", **_axis_fields(ax)}
    from matplotlib.container import BarContainer

    containers = [c for c in ax.containers if isinstance(c, BarContainer)]
    horizontal = bool(containers) and getattr(containers[0], "orientation", "vertical") == "horizontal"
    labels = [t.get_text() for t in (ax.get_yticklabels() if horizontal else ax.get_xticklabels())]
    ticks = list(ax.get_yticks() if horizontal else ax.get_xticks())
    elements = []
    for i, container in enumerate(containers):
        group = _series_label(container, i)
        for rect in container.patches:
            center = rect.get_y() + rect.get_height() / 2 if horizontal else rect.get_x() + rect.get_width() / 2
            nearest = min(range(len(ticks)), key=lambda j: abs(ticks[j] - center)) if ticks else None
            label = labels[nearest] if nearest is not None and nearest < len(labels) else str(_number(center))
            value = rect.get_width() if horizontal else rect.get_height()
            elements.append({"label": label, "value": _number(value), "group": group})
    if horizontal:
        fields["x_label"], fields["y_label"] = fields["y_label"], fields["x_label"]
        fields["x_unit"], fields["y_unit"] = fields["y_unit"], fields["x_unit"]
    fields["elements"] = elements
    return fields


def _pie_chart(ax):
    from matplotlib.patches import Wedge

    elements = []
    for wedge in (p for p in ax.patches if isinstance(p, Wedge)):
        elements.append({
            "label": wedge.get_label(),
            "angle": abs(round(wedge.theta2 - wedge.theta1, 4)),
            "radius": _number(wedge.r),
        })
    return {"type": "pie", "title": _text_or_none(ax.get_title()), "elements": elements}


def _box_chart(ax):
    """Boxes drawn by `boxplot(..., patch_artist=True)`: quartiles from each box's path, whiskers
    and median from the lines that touch it, outliers from the marker-only lines."""
    from matplotlib.patches import PathPatch

    fields = {"type": "box_and_whisker", **_axis_fields(ax)}
    found = []
    for box in (p for p in ax.patches if isinstance(p, PathPatch)):
        vertices = box.get_path().vertices
        xs, ys = vertices[:, 0], vertices[:, 1]
        found.append({"x0": float(xs.min()), "x1": float(xs.max()), "y0": float(ys.min()), "y1": float(ys.max())})
    # Boxes of a vertical plot share their width; those of a horizontal one their height.
    widths = {round(b["x1"] - b["x0"], 9) for b in found}
    heights = {round(b["y1"] - b["y0"], 9) for b in found}
    vertical = len(widths) <= 1 or len(heights) > 1
    labels = [t.get_text() for t in (ax.get_xticklabels() if vertical else ax.get_yticklabels())]
    ticks = list(ax.get_xticks() if vertical else ax.get_yticks())
    elements = []
    for box in found:
        lo, hi = (box["x0"], box["x1"]) if vertical else (box["y0"], box["y1"])
        q1, q3 = (box["y0"], box["y1"]) if vertical else (box["x0"], box["x1"])
        values = {"median": None, "min": q1, "max": q3, "outliers": []}
        for line in ax.get_lines():
            xs = [float(v) for v in line.get_xdata()]
            ys = [float(v) for v in line.get_ydata()]
            across, along = (xs, ys) if vertical else (ys, xs)
            if not across or not all(lo - 1e-9 <= a <= hi + 1e-9 for a in across):
                continue
            if line.get_linestyle() in ("None", "none", "") and along:
                values["outliers"].extend(along)
            elif len(along) == 2 and along[0] == along[1] and q1 <= along[0] <= q3:
                values["median"] = along[0]
            elif len(along) == 2:
                values["min"] = min(values["min"], *along)
                values["max"] = max(values["max"], *along)
        center = (lo + hi) / 2
        nearest = min(range(len(ticks)), key=lambda j: abs(ticks[j] - center)) if ticks else None
        elements.append({
            "label": labels[nearest] if nearest is not None and nearest < len(labels) else "",
            "min": values["min"],
            "first_quartile": q1,
            "median": values["median"] if values["median"] is not None else (q1 + q3) / 2,
            "third_quartile": q3,
            "max": values["max"],
            "outliers": values["outliers"],
        })
    if not vertical:
        fields["x_label"], fields["y_label"] = fields["y_label"], fields["x_label"]
        fields["x_unit"], fields["y_unit"] = fields["y_unit"], fields["x_unit"]
    fields["elements"] = elements
    return fields


def _axes_chart(ax):
    kind = _kind(ax)
    if kind in ("line", "scatter"):
        return _line_chart(ax, kind)
    if kind == "bar":
        return _bar_chart(ax)
    if kind == "pie":
        return _pie_chart(ax)
    if kind == "box_and_whisker":
        return _box_chart(ax)
    return {"type": "unknown", "title": _text_or_none(ax.get_title()), "elements": []}


def figure_chart(figure):
    axes = [ax for ax in figure.get_axes() if ax.get_visible()]
    if not axes:
        return None
    if len(axes) == 1:
        return _axes_chart(axes[0])
    suptitle = figure._suptitle.get_text() if figure._suptitle is not None else None
    return {"type": "superchart", "title": _text_or_none(suptitle), "elements": [_axes_chart(ax) for ax in axes]}


def chart_or_none(figure):
    """A chart that cannot be read must not cost the user the picture beside it."""
    try:
        return figure_chart(figure)
    except Exception:  # noqa: BLE001 - any matplotlib internals may change under us
        return None


def _show_saved_images(image_module):
    """An image saved to a file (or shown, which has no viewer here) is also displayed, so that it
    comes back as a result as it does from the hosted interpreter. Saving to a buffer is left
    alone: displaying an image is itself a save to a buffer."""
    from IPython.display import display

    image_class = image_module.Image
    save = image_class.save

    def save_and_display(self, fp, format=None, **params):
        saved = save(self, fp, format, **params)
        if isinstance(fp, (str, os.PathLike)):
            display(self)
        return saved

    def show(self, title=None):
        display(self)

    image_class.save = save_and_display
    image_class.show = show


class _PillowHook:
    """Patches PIL.Image as it is first imported (by the user's code, or by matplotlib), so that
    the kernel's start does not pay for importing Pillow."""

    def find_spec(self, name, path, target=None):
        if name != "PIL.Image":
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if finder is not self and find else None
            if spec is not None and spec.loader is not None:
                break
        else:
            return None
        exec_module = spec.loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            _show_saved_images(module)

        spec.loader.exec_module = exec_and_patch
        return spec


def add_formats(shell):
    formatters = shell.display_formatter.formatters
    data = DataFormatter(parent=shell.display_formatter)
    data.for_type_by_name("pandas.core.frame", "DataFrame", frame_data)
    chart = ChartFormatter(parent=shell.display_formatter)
    formatters[data.format_type] = data
    formatters[chart.format_type] = chart


# ipykernel gathers what a stream is written for 0.2 s and sends it as one message: a loop printing
# 64 MiB became one message, of which the kernel, the bridge and the interpreter each held several
# copies at once (the interpreter peaked ~260 MiB above its usual size).
_stream_message_chars = 1 << 20


def _write_in_bounded_messages(write):
    def write_bounded(self, string):
        written = write(self, string)
        try:
            full = self._buffer.tell() >= _stream_message_chars and self._is_master_process()
        except AttributeError:
            # Another ipykernel than Debian's 6.17 (a user upgraded it): its own flushing stands.
            full = False
        if full:
            # What the other stream holds was written before this: it goes first, as its timer
            # would have sent it first. flush() waits for the message to go, so the writer cannot
            # run far ahead of the sending.
            for other in (sys.stdout, sys.stderr):
                if other is not self and isinstance(other, type(self)):
                    other.flush()
            self.flush()
        return written

    return write_bounded


def _watch_pipe_whole_characters(self):
    """ipykernel's reader of the kernel's own descriptors 1 and 2 (what subprocesses and C code
    write), decoding as a stream: ipykernel decodes each read of 1000 bytes on its own, so a
    character cut by a read raised, its thread ended, and from then on that output was lost and,
    once the pipe filled, every write to it hung."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    try:
        data = os.read(self._fid, 1000)
        while data and self._should_watch:
            self.write(decoder.decode(data))
            os.write(self._original_stdstream_copy, data)
            data = os.read(self._fid, 1000)
    except Exception:
        self._exc = sys.exc_info()


def _mend_output_streams():
    from ipykernel.iostream import OutStream

    OutStream.write = _write_in_bounded_messages(OutStream.write)
    if hasattr(OutStream, "_watch_pipe_fd"):
        OutStream._watch_pipe_fd = _watch_pipe_whole_characters


def main():
    _mend_output_streams()
    app = IPKernelApp.instance()
    app.initialize(sys.argv[1:])
    add_formats(app.shell)
    sys.meta_path.insert(0, _PillowHook())
    app.start()


if __name__ == "__main__":
    main()
