"""A config dataclass declared once gives its command-line options, the config from them and the argv back."""

import argparse
from dataclasses import dataclass, field

import pytest

from omr_core.config_args import add_options, cli, config_from_args, to_args


@dataclass
class Config:
    folder: str = field(metadata=cli("folder", positional=True))
    tile_px: int | None = field(default=None, metadata=cli("--tile", "tile size in px"))
    ratio: float = field(default=0.5, metadata=cli("--ratio"))
    fonts: tuple[str, ...] = field(default=("a", "b"), metadata=cli("--fonts"))
    cap: int | None = field(default=None, metadata=cli("--cap", parse=lambda text: {"pilot": 10}.get(text) or int(text)))
    overwrite: bool = field(default=False, metadata=cli("--overwrite"))
    not_an_option: int = 7


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_options(parser, Config)
    return parser


@pytest.mark.parametrize("config", [
    Config("x"),
    Config("a folder", tile_px=640, ratio=0.25, fonts=("c",), cap=30, overwrite=True),
])
def test_a_config_round_trips_through_its_argv(config):
    argv = to_args(config, "cmd")
    assert argv[:2] == ["cmd", config.folder]
    assert config_from_args(Config, parser().parse_args(argv[1:])) == config


def test_options_parse_and_keep_defaults_and_show_them():
    config = config_from_args(Config, parser().parse_args(["f", "--cap", "pilot", "--fonts"]))
    assert config == Config("f", cap=10)  # an empty list keeps the default fonts
    text = parser().format_help()
    assert "--tile TILE" in text and "default: 0.5" in text and "default: a b" in text and "not_an_option" not in text
    with pytest.raises(SystemExit):
        parser().parse_args(["f", "--tile", "wide"])
