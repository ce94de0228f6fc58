"""GS1 identifiers: check digits and GTIN-14 (GS1's own examples), UPC-E expansion, the GTIN a scanned symbol
carries (EAN/UPC as zxing-cpp reports them, GS1 element strings, GS1 Digital Link URIs)."""

from __future__ import annotations

import random

import pytest

from authentic.barcodes import gtin

GS = "\x1d"


@pytest.mark.parametrize(
    ("body", "digit"),
    [
        ("629104150021", 3),  # GS1's check digit calculator, GTIN-13
        ("730001100001", 7),  # GS1 Sweden
        ("890400021003", 7),  # GS1 India
        ("0950600013435", 2),  # GS1's example GTIN-14 09506000134352 (id.gs1.org)
        ("952123454321", 3),  # GS1 Digital Link examples: 9521234543213
        ("10614141123456789", 7),  # an SSCC: the same mod-10 rule over 17 digits
        ("9638507", 4),  # EAN-8 96385074
        ("03600029145", 2),  # UPC-A 036000291452
    ],
)
def test_the_gs1_check_digit(body: str, digit: int) -> None:
    assert gtin.check_digit(body) == digit
    assert gtin.check_digit_ok(body + str(digit))
    assert not gtin.check_digit_ok(body + str((digit + 1) % 10))


@pytest.mark.parametrize(
    ("value", "gtin14"),
    [
        ("96385074", "00000096385074"),  # GTIN-8
        ("036000291452", "00036000291452"),  # GTIN-12 (UPC-A)
        ("6291041500213", "06291041500213"),  # GTIN-13
        ("9506000134352", "09506000134352"),
        ("09506000134352", "09506000134352"),  # GTIN-14
        ("10614141000415", "10614141000415"),  # a case (indicator digit 1)
        (" 4006381333931 ", "04006381333931"),  # surrounding spaces are not part of it
    ],
)
def test_valid_gtins_are_stored_as_gtin_14(value: str, gtin14: str) -> None:
    assert gtin.normalise(value) == gtin14


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("6291041500214", "the check digit of '6291041500214' is 4; it should be 3"),
        ("96385075", "it should be 4"),
        ("123", "has 3 digits; a GTIN has 8, 12, 13 or 14"),
        ("950600013435", "the check digit"),  # 12 digits: a GTIN-13 with its check digit left out
        ("095060001343520", "has 15 digits"),
        ("0950-6000-1343", "digits only"),
        ("０９５０６０００１３４３５２", "digits only"),  # full-width digits are str.isdigit(), not a GTIN
        ("", "digits only"),
        ("0412345678903", "restricted circulation"),  # UPC number system 4: in-store
        ("2111220009686", "restricted circulation"),  # GS1 prefix 21: in-store, variable measure
        ("02345673", "restricted circulation"),  # GTIN-8 prefix 0: company-internal
    ],
)
def test_invalid_gtins_say_what_is_wrong(value: str, says: str) -> None:
    with pytest.raises(gtin.GtinProblem) as problem:
        gtin.normalise(value)
    assert says in str(problem.value)


def test_an_eight_digit_upc_e_entered_as_a_gtin_is_refused_with_the_way_to_register_it() -> None:
    with pytest.raises(gtin.GtinProblem) as problem:
        gtin.normalise("04965802")
    assert "as a UPC-E number it would be UPC-A 049000006582: mark it as UPC-E" in str(problem.value)
    assert gtin.normalise("04965802", upc_e=True) == "00049000006582"


@pytest.mark.parametrize(
    ("upc_e", "upc_a"),
    [
        # the zero-suppression table: last digit 0-2, 3, 4, 5-9 (number system 0 implied for 6 digits)
        ("124560", "012000004568"),
        ("275831", "027100005834"),
        ("412022", "041200002029"),
        ("876543", "087600000548"),
        ("753774", "075370000073"),
        ("213756", "021375000068"),
        ("517019", "051701000097"),
        # UPC-E symbols of the quagga2 fixtures (number system, six digits, check digit)
        ("04965802", "049000006582"),
        ("03897425", "038200009745"),
        ("05096893", "050968000093"),
        ("01264904", "012000006494"),
        # number system 1
        ("12345670", "123456000070"),
        ("1425261", "142100005261"),
    ],
)
def test_upc_e_expands_to_upc_a(upc_e: str, upc_a: str) -> None:
    assert gtin.expand_upc_e(upc_e) == upc_a
    assert gtin.check_digit_ok(upc_a)


@pytest.mark.parametrize("bad", ["04965803", "24965802", "12345", "0496580x", "123456789"])
def test_an_invalid_upc_e_is_refused(bad: str) -> None:
    with pytest.raises(gtin.GtinProblem):
        gtin.expand_upc_e(bad)


def test_upc_e_expansion_agrees_with_zxing_cpps_own_writer_and_reader() -> None:
    import numpy as np
    import zxingcpp

    rng = random.Random(4)
    checked = 0
    while checked < 30:
        digits = "0" + "".join(str(rng.randint(0, 9)) for _ in range(6))
        try:  # zxing-cpp's writer takes number system 0 and canonical zero suppression only
            symbol = zxingcpp.create_barcode(digits, zxingcpp.BarcodeFormat.UPCE)
        except ValueError:
            continue
        image = np.asarray(symbol.to_image(scale=3, add_quiet_zones=True))
        (read,) = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.UPCE]))
        assert gtin.expand_upc_e(digits).zfill(13) == read.text  # zxing reports the 13-digit expansion
        checked += 1


@pytest.mark.parametrize(
    ("text", "sid", "fmt", "gtin14"),
    [
        ("5901234123457", "]E0", "EAN-13", "05901234123457"),
        ("0039047013551", "]E0", "EAN-13", "00039047013551"),  # UPC-A as zxing-cpp reads it
        ("039047013551", "]E0", "UPC-A", "00039047013551"),
        ("04965802", "]E0", "UPC-E", "00049000006582"),  # UPC-E as printed
        ("0049000006582", "]E0", "UPC-E", "00049000006582"),  # and as zxing-cpp expands it
        ("419871600890101", "]E3", "EAN-13", "04198716008901"),  # the 2-digit add-on is not part of it
        ("978054466825652495", "]E3", "EAN-13", "09780544668256"),  # nor the 5-digit one
        ("42191605", "]E4", "EAN-8", "00000042191605"),
        ("96385074", "", "", "00000096385074"),  # no symbology: 8 digits are an EAN-8
    ],
)
def test_ean_and_upc_symbols(text: str, sid: str, fmt: str, gtin14: str) -> None:
    assert gtin.from_scan(text, sid, fmt) == gtin.Scanned(gtin14, True)


@pytest.mark.parametrize(
    ("text", "sid", "gtin14"),
    [
        # GS1's Digital Link toolkit: the GTIN is not the first element, a variable-length one precedes it
        ("(3103)000189(01)05412345000013(3923)2172(10)ABC&+123", "", "05412345000013"),
        ("3103000189010541234500001339232172" + GS + "10ABC&+123", "]d2", "05412345000013"),
        # GS1 DataMatrix and QR as zxing-cpp reads them in plain text mode (FNC1 as GS)
        ("010950600013435210ABC123" + GS + "17241231", "]d2", "09506000134352"),
        ("010950600013435210ABC123<GS>17241231", "]d2", "09506000134352"),  # escaped text
        ("01095060001343521724123110ABC", "]Q3", "09506000134352"),
        ("0109506000134352", "]C1", "09506000134352"),  # GS1-128
        ("(01)09506000134352(17)241231(10)ABC123", "", "09506000134352"),  # human-readable form
    ],
)
def test_gs1_element_strings(text: str, sid: str, gtin14: str) -> None:
    assert gtin.from_scan(text, sid) == gtin.Scanned(gtin14, True)


@pytest.mark.parametrize(
    ("uri", "gtin14"),
    [
        ("https://id.gs1.org/01/09506000134352", "09506000134352"),  # GS1's resolver
        ("https://example.com/01/9506000134352?17=241231", "09506000134352"),  # a GTIN-13 in the path
        ("https://id.gs1.org/01/05412345000013/10/ABC%26%2B123?3103=000189&3923=2172", "05412345000013"),
        ("https://example.com/products/01/09521234543213", "09521234543213"),  # a path prefix
        ("https://id.gs1.org/01/09521234543213/10/ABC123/21/12345", "09521234543213"),
        ("HTTPS://ID.GS1.ORG/01/09506000134352", "09506000134352"),  # a QR code's alphanumeric mode
        ("https://brand.example/a/b/c/01/96385074", "00000096385074"),
        ("http://example.org/gtin/054123450013/lot/ABC%26%2B123", "00054123450013"),  # Digital Link 1.1 alias
    ],
)
def test_gs1_digital_link_uris(uri: str, gtin14: str) -> None:
    assert gtin.from_scan(uri, "]Q1", "QR Code") == gtin.Scanned(gtin14, True)


@pytest.mark.parametrize(
    ("text", "sid"),
    [
        ("https://id.gs1.org/00/106141411234567897", "]Q1"),  # an SSCC, no GTIN
        ("https://example.com/product/123", "]Q1"),
        ("ftp://id.gs1.org/01/09506000134352", "]Q1"),
        ("hello world", "]Q1"),
        ("(17)241231(10)ABC", ""),
        ("", "]E0"),
    ],
)
def test_what_carries_no_gtin(text: str, sid: str) -> None:
    assert gtin.from_scan(text, sid) is None


@pytest.mark.parametrize(
    ("text", "sid", "gtin14"),
    [
        ("https://id.gs1.org/01/09506000134353", "]Q1", "09506000134353"),
        ("(01)09506000134353", "", "09506000134353"),
        ("0109506000134353" + GS + "10ABC", "]d2", "09506000134353"),
    ],
)
def test_a_gtin_whose_check_digit_fails_is_reported_as_such(text: str, sid: str, gtin14: str) -> None:
    assert gtin.from_scan(text, sid) == gtin.Scanned(gtin14, False)


@pytest.mark.parametrize(
    ("gtin14", "trade"),
    [
        ("04006381333931", True),
        ("09780544668256", True),  # a book's ISBN is its GTIN
        ("02111220009686", False),  # an in-store number (prefix 21): a shop's own label
        ("00412345678903", False),  # UPC number system 4: in-store
        ("00000002345673", False),  # GTIN-8 prefix 0: company-internal
    ],
)
def test_what_is_a_brands_trade_item(gtin14: str, trade: bool) -> None:
    assert gtin.trade_item(gtin14) is trade
