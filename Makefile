.PHONY: install test lint format bench

VENV ?= .venv
BIN := $(VENV)/bin

install:
	python3 -m venv $(VENV) && $(BIN)/pip install -U pip && $(BIN)/pip install -e . --group dev

test:
	$(BIN)/pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench:
	$(BIN)/python benchmarks/run.py
