import json

import pytest

from omr_core.formats.json_stream import Batch, JsonStreamError, Member, line_col, stream_members


def collect(path, chunk_bytes):
    elements, members = {"images": [], "annotations": {}}, {}
    for item in stream_members(path, {"images", "annotations"}, {"categories", "info"}, chunk_bytes=chunk_bytes):
        if isinstance(item, Member):
            members[item.member] = json.loads(item.text)
        elif item.member == "images":
            elements["images"] += json.loads(b"[" + item.text + b"]")
        else:
            for start, end in item.element_spans.tolist():  # every span is one whole `"key": {...}`
                elements["annotations"].update(json.loads(b"{" + item.text[start:end] + b"}"))
    return elements, members


@pytest.mark.parametrize("chunk_bytes", [13, 97, 1000, 1 << 20])
def test_every_chunk_size_gives_the_same_document(sample_json, chunk_bytes):
    reference = json.loads(sample_json.read_text())
    elements, members = collect(sample_json, chunk_bytes)
    assert elements["annotations"] == reference["annotations"]
    assert list(elements["annotations"]) == list(reference["annotations"])  # order kept
    assert elements["images"] == reference["images"]
    assert members["categories"] == reference["categories"] and members["info"] == reference["info"]


def test_batch_offsets_point_into_the_file(sample_json):
    raw = sample_json.read_bytes()
    for item in stream_members(sample_json, {"annotations"}, set(), chunk_bytes=4096):
        assert isinstance(item, Batch)
        assert raw[item.offset : item.offset + len(item.text)] == item.text


@pytest.mark.parametrize(
    "document",
    [
        {"a": {"x": {"s": "brace } inside \" string ] ["}, "y": {"s": "\\\\"}}, "b": [{"k": "\\\"}"}, {"k": 2}]},
        {"b": [], "a": {}},
        {"a": {"1": {"v": [1, [2, {"w": 3}]]}}, "b": [{"q": "]]]"}]},
    ],
)
@pytest.mark.parametrize("chunk_bytes", [1, 3, 64])
def test_strings_escapes_and_nesting(tmp_path, document, chunk_bytes):
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document, indent=1))
    got_a, got_b = {}, []
    for item in stream_members(path, {"a", "b"}, set(), chunk_bytes=chunk_bytes):
        if item.member == "a":
            got_a.update(json.loads(b"{" + item.text + b"}") if item.text else {})
        else:
            got_b += json.loads(b"[" + item.text + b"]") if item.text else []
    assert got_a == document["a"] and got_b == document["b"]


@pytest.mark.parametrize(
    "text, message",
    [
        (b'{"annotations": {"1": {"a": 1}}, "images": [', "ends inside 'images'"),
        (b'[1, 2]', "expected a JSON object at the top level"),
        (b'{"a": [1]]}', "unbalanced"),
    ],
)
def test_structural_errors_name_file_and_position(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_bytes(text)
    with pytest.raises(JsonStreamError, match=message) as info:
        list(stream_members(path, {"annotations", "images"}, set()))
    assert str(path) in str(info.value) and "line 1" in str(info.value)


def test_line_col(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"ab\ncd\nef")
    assert line_col(path, 0) == (1, 1)
    assert line_col(path, 4) == (2, 2)
    assert line_col(path, 6) == (3, 1)
