"""Files an applicant brings: decoding, sanitised names, checks, content sniffing, the store."""

from __future__ import annotations

import base64
import hashlib
import io
import threading
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.applications.files import (
    IncomingFile,
    MaterialStore,
    decode_files,
    file_problems,
    raise_for,
    sanitize_filename,
    sniff_content_type,
    status_for,
)
from exchange.core.errors import InvalidInput, PayloadTooLarge
from exchange.core.settings import Settings

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32 + b"\xff\xd9"
KNOWN = {"registration_application", "power_of_attorney", "deed_tax_declaration"}


def zipped(*names: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name in names:
            z.writestr(name, "<ofd:OFD/>")
    return buf.getvalue()


OFD = zipped("OFD.xml", "Doc_0/Document.xml")
DOCX = zipped("[Content_Types].xml", "word/document.xml")


def settings(**kw: object) -> Settings:
    return Settings(environment="test", **kw)  # type: ignore[arg-type]


def incoming(
    material: str, content: bytes, content_type: str, name: str = "scan.pdf"
) -> IncomingFile:
    return IncomingFile(
        material=material,
        filename=name,
        content_type=content_type,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
    )


def raw(
    material: str, content: bytes, content_type: str = "application/pdf", name: str = "a.pdf"
) -> dict[str, str]:
    return {
        "material": material,
        "filename": name,
        "content_type": content_type,
        "content_base64": base64.b64encode(content).decode(),
    }


# ---- decoding ------------------------------------------------------------------------


def test_decode_files_gives_content_hash_and_clean_name() -> None:
    item = raw(
        "registration_application", PDF, "Application/PDF; charset=binary", "../../etc/申请书.pdf"
    )
    files, problems = decode_files([item])
    assert problems == []
    [f] = files
    assert f.filename == "申请书.pdf"
    assert f.content_type == "application/pdf"
    assert f.content == PDF and f.size == len(PDF)
    assert f.sha256 == hashlib.sha256(PDF).hexdigest()


def test_base64_may_be_wrapped_in_lines() -> None:
    encoded = base64.encodebytes(PNG * 10).decode()  # MIME style: a newline every 76 chars
    files, problems = decode_files([{**raw("m", b""), "content_base64": encoded}])
    assert problems == [] and files[0].content == PNG * 10


def test_bad_base64_is_named_with_its_position_and_file() -> None:
    bad = {**raw("power_of_attorney", PDF, name="委托书.pdf"), "content_base64": "not base64!!"}
    files, problems = decode_files([raw("registration_application", PDF), bad], field="upload")
    assert len(files) == 1
    assert problems == [
        {
            "field": "upload[1].content_base64",
            "message": "content of 委托书.pdf is not valid base64",
        }
    ]


def test_missing_fields_and_non_objects_are_named() -> None:
    files, problems = decode_files([{"material": "m"}, "x"])  # type: ignore[list-item]
    assert files == []
    fields = [p["field"] for p in problems]
    assert fields == [
        "files[0].filename",
        "files[0].content_type",
        "files[0].content_base64",
        "files[1]",
    ]


def test_a_name_with_nothing_usable_is_refused() -> None:
    _, problems = decode_files([raw("m", PDF, name="../..")])
    assert problems[0]["field"] == "files[0].filename"


@pytest.mark.parametrize(
    ("given_name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\张三\\户口本.pdf", "户口本.pdf"),
        ("bad\x00name\r\n.pdf", "badname.pdf"),
        ("  .hidden.png  ", "hidden.png"),
        ("..", ""),
    ],
)
def test_sanitize_filename(given_name: str, expected: str) -> None:
    assert sanitize_filename(given_name) == expected


def test_a_long_name_is_cut_to_255_keeping_its_extension() -> None:
    name = sanitize_filename("材" * 400 + ".pdf")
    assert len(name) == 255 and name.endswith(".pdf")


@given(st.text(max_size=600))
def test_sanitized_names_have_no_path_parts_and_fit_the_column(name: str) -> None:
    clean = sanitize_filename(name)
    assert "/" not in clean and "\\" not in clean
    assert len(clean) <= 255
    assert clean not in {".", ".."}
    assert all(c.isprintable() or c == " " for c in clean)
    assert sanitize_filename(clean) == clean


# ---- checks --------------------------------------------------------------------------


def test_good_files_of_every_accepted_type_pass() -> None:
    files = [
        incoming("registration_application", PDF, "application/pdf"),
        incoming("power_of_attorney", JPEG, "image/jpeg", "委托书.jpg"),
        incoming("deed_tax_declaration", OFD, "application/ofd", "申报表.ofd"),
    ]
    assert file_problems(files, known_materials=KNOWN, settings=settings()) == []
    png = [incoming("power_of_attorney", PNG, "image/png", "a.png")]
    assert file_problems(png, known_materials=KNOWN, settings=settings()) == []


def test_unknown_material_is_named_with_the_known_ones() -> None:
    [p] = file_problems(
        [incoming("passport", PDF, "application/pdf")], known_materials=KNOWN, settings=settings()
    )
    assert p["field"] == "files[0].material"
    assert "unknown material passport" in p["message"] and "power_of_attorney" in p["message"]


def test_a_material_twice_in_one_request_is_refused_naming_it() -> None:
    files = [
        incoming("power_of_attorney", PDF, "application/pdf"),
        incoming("power_of_attorney", JPEG, "image/jpeg", "b.jpg"),
    ]
    [p] = file_problems(files, known_materials=KNOWN, settings=settings())
    assert p["field"] == "files[1].material"
    assert "material power_of_attorney uploaded twice" in p["message"]


def test_a_material_that_already_has_a_file_is_refused() -> None:
    f = incoming("power_of_attorney", PDF, "application/pdf")
    [same] = file_problems(
        [f], known_materials=KNOWN, settings=settings(), already={"power_of_attorney": [f.sha256]}
    )
    assert "material power_of_attorney uploaded twice" in same["message"]
    assert "this same file" in same["message"]
    [other] = file_problems(
        [f], known_materials=KNOWN, settings=settings(), already={"power_of_attorney": ["0" * 64]}
    )
    assert "already has a file" in other["message"]
    # A material with no file yet is fine.
    assert (
        file_problems(
            [f], known_materials=KNOWN, settings=settings(), already={"power_of_attorney": []}
        )
        == []
    )


def test_a_type_outside_the_settings_is_refused_naming_the_file() -> None:
    files = [incoming("power_of_attorney", b"GIF89a....", "image/gif", "a.gif")]
    [p] = file_problems(files, known_materials=KNOWN, settings=settings())
    assert p["field"] == "files[0].content_type"
    assert "a.gif" in p["message"] and "image/gif is not accepted" in p["message"]
    only_pdf = settings(application_file_types=["application/pdf"])
    [p] = file_problems(
        [incoming("power_of_attorney", PNG, "image/png", "a.png")],
        known_materials=KNOWN,
        settings=only_pdf,
    )
    assert "image/png is not accepted" in p["message"]


@pytest.mark.parametrize(
    ("content", "declared", "says"),
    [
        (PNG, "application/pdf", "looks like image/png"),
        (PDF, "image/jpeg", "looks like application/pdf"),
        (b"MZ\x90\x00 an executable", "application/pdf", "is not recognisable"),
        (DOCX, "application/ofd", "looks like application/zip"),
        (JPEG, "image/png", "looks like image/jpeg"),
    ],
)
def test_a_mislabelled_file_is_refused_naming_it(content: bytes, declared: str, says: str) -> None:
    files = [incoming("power_of_attorney", content, declared, "委托书.bin")]
    [p] = file_problems(files, known_materials=KNOWN, settings=settings())
    assert p["field"] == "files[0].content_type"
    assert p["message"] == f"file 委托书.bin is declared {declared} but its content {says}"


def test_sniffing() -> None:
    assert sniff_content_type(PDF) == "application/pdf"
    assert sniff_content_type(b"\xef\xbb\xbf\r\n%PDF-1.4") == "application/pdf"  # header after junk
    assert sniff_content_type(OFD) == "application/ofd"
    assert sniff_content_type(DOCX) == "application/zip"
    assert sniff_content_type(b"PK\x03\x04 truncated") == "application/zip"
    assert sniff_content_type(b"") is None


def test_a_configured_type_we_cannot_sniff_is_taken_as_declared() -> None:
    tiff = settings(application_file_types=["image/tiff"])
    files = [incoming("power_of_attorney", b"II*\x00 tiff", "image/tiff", "a.tif")]
    assert file_problems(files, known_materials=KNOWN, settings=tiff) == []


def test_an_empty_file_is_refused() -> None:
    [p] = file_problems(
        [incoming("power_of_attorney", b"", "application/pdf")],
        known_materials=KNOWN,
        settings=settings(),
    )
    assert p["message"] == "file scan.pdf is empty"
    assert status_for([p]) == 422


def test_a_file_over_the_limit_is_413_naming_it_and_the_limit() -> None:
    small = settings(application_file_max_bytes=100)
    big = incoming("power_of_attorney", PDF + b"0" * 200, "application/pdf", "大文件.pdf")
    problems = file_problems([big], known_materials=KNOWN, settings=small)
    assert [p["message"] for p in problems] == [
        f"file 大文件.pdf is {big.size} bytes, over the limit of 100 bytes"
    ]
    assert status_for(problems) == 413
    with pytest.raises(PayloadTooLarge) as caught:
        raise_for(problems)
    assert caught.value.status == 413 and caught.value.errors
    assert "大文件.pdf" in caught.value.detail


def test_size_with_other_problems_is_422() -> None:
    small = settings(application_file_max_bytes=10)
    files = [
        incoming("power_of_attorney", PDF, "application/pdf"),
        incoming("nope", PDF, "application/pdf"),
    ]
    problems = file_problems(files, known_materials=KNOWN, settings=small)
    assert status_for(problems) == 422
    with pytest.raises(InvalidInput):
        raise_for(problems)
    raise_for([])  # nothing wrong: no error


def test_default_settings_match_the_contract(tmp_path: Path) -> None:
    s = settings(data_dir=tmp_path)
    assert s.application_file_max_bytes == 700_000
    assert s.application_file_types == [
        "application/pdf",
        "image/jpeg",
        "image/png",
        "application/ofd",
    ]
    assert s.effective_materials_dir == tmp_path / "materials"
    assert (
        settings(application_materials_dir=tmp_path / "m").effective_materials_dir == tmp_path / "m"
    )


# ---- the store -----------------------------------------------------------------------


def test_store_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    store = MaterialStore(tmp_path / "materials")
    sha = store.put(PDF)
    assert sha == hashlib.sha256(PDF).hexdigest()
    assert (tmp_path / "materials" / sha[:2] / sha).read_bytes() == PDF
    assert store.put(PDF) == sha
    assert store.exists(sha) and store.read(sha) == PDF
    assert not store.exists("0" * 64)
    with pytest.raises(FileNotFoundError):
        store.read("0" * 64)
    assert list((tmp_path / "materials").rglob("*.tmp")) == []


def test_store_refuses_paths_that_are_not_hashes(tmp_path: Path) -> None:
    store = MaterialStore(tmp_path)
    with pytest.raises(ValueError):
        store.read("../../etc/passwd")
    assert not store.exists("../x")


def test_store_notices_a_corrupted_file(tmp_path: Path) -> None:
    store = MaterialStore(tmp_path)
    sha = store.put(PNG)
    store.path_for(sha).write_bytes(PNG[:-1] + b"!")
    with pytest.raises(ValueError, match="does not match"):
        store.read(sha)
    # A damaged copy is replaced by the next put of the real content.
    assert store.put(PNG) == sha and store.read(sha) == PNG
    store.path_for(sha).write_bytes(b"short")
    assert store.put(PNG) == sha and store.read(sha) == PNG


def test_many_writers_of_the_same_content_leave_one_whole_file(tmp_path: Path) -> None:
    store = MaterialStore(tmp_path)
    content = PDF + bytes(range(256)) * 2000  # ~0.5 MB
    barrier = threading.Barrier(8)
    results: list[str] = []

    def write() -> None:
        barrier.wait(timeout=10)
        results.append(store.put(content))

    threads = [threading.Thread(target=write) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == 8 and len(set(results)) == 1
    assert store.read(results[0]) == content
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [results[0]]
