"""Masking of names and ID numbers in notices other members can see."""

from __future__ import annotations

import pytest

from mutualaid import mask_id_number, mask_name


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        pytest.param("张", "张*", id="zh-1-char"),
        pytest.param("张三", "张*", id="zh-2-chars"),
        pytest.param("王小明", "王**", id="zh-3-chars"),
        pytest.param("欧阳小明", "欧***", id="zh-4-chars-compound-surname"),
        pytest.param("李 四", "李*", id="zh-typed-with-a-space"),
        pytest.param("欧阳 小明", "欧***", id="zh-4-chars-with-a-space"),
        pytest.param("阿卜杜勒·艾尼", "阿******", id="zh-transliteration-with-middle-dot"),
        pytest.param("  王小明 ", "王**", id="zh-surrounding-whitespace"),
        pytest.param("John Smith", "J*** S****", id="western-2-words"),
        pytest.param("Mary Ann Lee", "M*** A** L**", id="western-3-words"),
        pytest.param("Zhang  San", "Z**** S**", id="pinyin-double-space"),
        pytest.param("John", "J***", id="western-1-word"),
        pytest.param("Jo", "J*", id="western-2-letters"),
        pytest.param("J", "J*", id="western-1-letter"),
        pytest.param("A B", "A* B*", id="western-initials-only"),
        pytest.param("O'Brien", "O******", id="western-apostrophe"),
        pytest.param("", "*", id="empty"),
        pytest.param("   ", "*", id="whitespace"),
    ],
)
def test_mask_name(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("张三", id="zh-2-chars"),
        pytest.param("李 四", id="zh-typed-with-a-space"),
        pytest.param("Jo", id="western-2-letters"),
        pytest.param("John Smith", id="western-2-words"),
    ],
)
def test_mask_name_hides_at_least_one_character_of_every_name_part(name):
    masked = mask_name(name)
    shown = masked.replace("*", "").replace(" ", "")
    assert len(shown) < len(name.replace(" ", ""))
    assert all("*" in part for part in masked.split())


@pytest.mark.parametrize(
    ("id_number", "masked"),
    [
        pytest.param("110105199001011234", "110*************34", id="resident-id-18"),
        pytest.param("11010519900101123X", "110*************3X", id="resident-id-check-digit-X"),
        pytest.param(" 110105199001011234 ", "110*************34", id="surrounding-whitespace"),
        pytest.param("110105900101123", "110**********23", id="old-resident-id-15"),
        pytest.param("A123456789", "A12*****89", id="10-chars"),
        pytest.param("E12345678", "*******78", id="passport-9-chars"),
        pytest.param("123456", "****56", id="6-chars"),
        pytest.param("12345", "*****", id="5-chars"),
        pytest.param("1", "*", id="1-char"),
        pytest.param("", "", id="empty"),
        pytest.param("   ", "", id="whitespace"),
    ],
)
def test_mask_id_number(id_number, masked):
    assert mask_id_number(id_number) == masked


@pytest.mark.parametrize("size", range(1, 25), ids=lambda n: f"{n}-chars")
def test_mask_id_number_hides_at_least_half(size):
    id_number = "".join(str(i % 10) for i in range(size))
    masked = mask_id_number(id_number)
    assert len(masked) == size
    assert masked.count("*") * 2 >= size
