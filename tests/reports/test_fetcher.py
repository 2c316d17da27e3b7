"""The restricted URL fetcher: bundled assets, data: URIs and charts only; everything else refused."""

from __future__ import annotations

import pytest
from weasyprint.urls import FatalURLFetchingError

from reports.rendering.fetcher import RestrictedURLFetcher, StaticCharts, URLRefused
from reports.rendering.pdf import ASSETS_DIR

REFUSED = (
    "file:///etc/passwd",
    "FILE:///etc/passwd",
    "http://169.254.169.254/latest/meta-data/",
    "https://example.com/logo.png",
    "ftp://example.com/x",
    "//169.254.169.254/",
    "javascript:alert(1)",
    "asset:../../config/settings.py",
    "asset:%2e%2e/%2e%2e/config/settings.py",
    "asset:/etc/passwd",
    "asset:fonts/../../../etc/passwd",
    "asset:report.css%00.png",
    "asset:missing.css",
)


@pytest.fixture
def fetcher():
    return RestrictedURLFetcher(assets_dir=ASSETS_DIR, charts=StaticCharts({"psi": (100.0, 50.0, b"<svg/>")}))


@pytest.mark.parametrize("url", REFUSED)
def test_it_refuses_everything_but_bundled_assets(fetcher, no_network, url):
    with pytest.raises(URLRefused):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def test_it_serves_the_bundled_stylesheet(fetcher):
    response = fetcher.fetch("asset:report.css")
    assert response.content_type == "text/css"
    assert b"@page" in response.read()


def test_it_refuses_a_file_in_the_assets_folder_with_an_unknown_type(fetcher, tmp_path):
    (tmp_path / "notes.txt").write_text("secret")
    local = RestrictedURLFetcher(assets_dir=tmp_path)
    with pytest.raises(URLRefused):
        local.fetch("asset:notes.txt")


def test_it_refuses_a_symlink_that_leaves_the_assets_folder(tmp_path):
    outside = tmp_path / "outside.css"
    outside.write_text("body {}")
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "link.css").symlink_to(outside)
    with pytest.raises(URLRefused):
        RestrictedURLFetcher(assets_dir=assets).fetch("asset:link.css")


def test_it_decodes_data_uris(fetcher):
    assert fetcher.fetch("data:image/svg+xml;base64,PHN2Zy8+").read() == b"<svg/>"
    assert fetcher.fetch("data:text/plain,a%20b").read() == b"a b"


def test_it_frames_a_chart_at_its_size_and_serves_its_body(fetcher):
    frame = fetcher.fetch("chart:psi").read()
    assert b'width="100.000pt" height="50.000pt"' in frame
    assert b'xlink:href="chart-body:psi"' in frame
    assert fetcher.fetch("chart-body:psi").read() == b"<svg/>"
    assert fetcher.served == {"psi"}


def test_it_stops_the_render_for_an_unknown_chart(fetcher):
    with pytest.raises(FatalURLFetchingError):
        fetcher.fetch("chart:nope")
    assert fetcher.failures
