"""tree-sitter summaries for JavaScript, TypeScript, Go, Rust and Java, and a
mixed-language map."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.repomap import build_repo_map
from agent.repomap.tags import FileSummary, summarize
from agent.repomap.ts_tags import grammar
from tests.conftest import make_repo, missing


def _needs(lang: str) -> None:
    if grammar(lang) is None:
        missing(f"no tree-sitter grammar for {lang} installed (pip install tree-sitter-{lang})")


def _defs(summary: FileSummary) -> list[tuple[str, str, int, str]]:
    return [(d.name, d.kind, d.depth, d.signature) for d in summary.defs]


def test_javascript() -> None:
    _needs("javascript")
    source = b"""
import { helper } from './util';
const fs = require("fs");
log("not an import");
export class Store extends Base {
  constructor(opts) { super(); }
  get(key, fallback = null) { function inner() {} return helper(key); }
}
export function makeStore(opts) { return new Store(opts); }
const add = (a, b) => a + b;
"""
    s = summarize(source, "javascript")
    assert _defs(s) == [
        ("Store", "class", 0, "class Store extends Base"),
        ("constructor", "method", 1, "constructor(opts)"),
        ("get", "method", 1, "get(key, fallback = null)"),
        ("makeStore", "function", 0, "function makeStore(opts)"),
        ("add", "function", 0, "add = (a, b)"),
    ]  # `inner` is local to a method: not listed
    assert s.imports == ["./util", "fs"]
    assert s.refs["helper"] == 2 and s.refs["Store"] == 2


def test_typescript() -> None:
    _needs("typescript")
    source = b"""
import type { Cfg } from "../config";
export interface Shape { area(): number; }
type Id = string | number;
export abstract class Base<T> implements Shape {
  abstract area(): number;
  protected greet(who: string): string { return `hi ${who}`; }
}
export const handler = async (req: Request): Promise<Response> => fetch(req);
enum Color { Red, Green }
"""
    s = summarize(source, "typescript")
    assert _defs(s) == [
        ("Shape", "interface", 0, "interface Shape"),
        ("area", "method", 1, "area(): number"),
        ("Id", "type", 0, "type Id = string | number"),
        ("Base", "class", 0, "abstract class Base<T> implements Shape"),
        ("area", "method", 1, "abstract area(): number"),
        ("greet", "method", 1, "protected greet(who: string): string"),
        ("handler", "function", 0, "handler = async (req: Request): Promise<Response>"),
        ("Color", "type", 0, "enum Color"),
    ]
    assert s.imports == ["../config"]
    assert "Cfg" in s.refs and "Request" in s.refs


def test_tsx() -> None:
    _needs("tsx")
    s = summarize(b"export function App(props: Props) { return <div>{props.title}</div>; }\n", "tsx")
    assert _defs(s) == [("App", "function", 0, "function App(props: Props)")]


def test_go() -> None:
    _needs("go")
    source = b"""// Command server.
package main

import (
  "fmt"
  "example.com/app/internal/store"
)

type Server struct { db *store.DB }
type Handler interface { Serve(w Writer) error }

func (s *Server) Start(addr string) error { return nil }
func main() { fmt.Println((&Server{}).Start(":80")) }
"""
    s = summarize(source, "go")
    assert _defs(s) == [
        ("Server", "type", 0, "type Server struct"),
        ("Handler", "type", 0, "type Handler interface"),
        ("Serve", "method", 1, "Serve(w Writer) error"),
        ("Start", "method", 0, "func (s *Server) Start(addr string) error"),
        ("main", "function", 0, "func main()"),
    ]
    assert s.imports == ["fmt", "example.com/app/internal/store"]
    assert s.is_main


def test_rust() -> None:
    _needs("rust")
    source = b"""
use crate::store::Store;
pub struct Config { pub name: String }
pub trait Runner { fn run(&self) -> Result<(), Error>; }
impl Runner for Config {
    fn run(&self) -> Result<(), Error> { helper(); Ok(()) }
}
fn main() { Config { name: String::new() }.run().unwrap(); }
"""
    s = summarize(source, "rust")
    assert _defs(s) == [
        ("Config", "type", 0, "pub struct Config"),
        ("Runner", "interface", 0, "pub trait Runner"),
        ("run", "method", 1, "fn run(&self) -> Result<(), Error>"),
        ("Config", "impl", 0, "impl Runner for Config"),
        ("run", "method", 1, "fn run(&self) -> Result<(), Error>"),
        ("main", "function", 0, "fn main()"),
    ]
    assert s.is_main and "helper" in s.refs and "Store" in s.refs


def test_java() -> None:
    _needs("java")
    source = b"""
package com.acme.app;
import com.acme.store.Store;
public class App implements Runnable {
    private final Store store;
    public App(Store store) { this.store = store; }
    public void run() { store.save(); }
    public static void main(String[] args) { new App(new Store()).run(); }
}
"""
    s = summarize(source, "java")
    assert _defs(s) == [
        ("App", "class", 0, "public class App implements Runnable"),
        ("App", "method", 1, "public App(Store store)"),
        ("run", "method", 1, "public void run()"),
        ("main", "method", 1, "public static void main(String[] args)"),
    ]
    assert s.imports == ["com.acme.store.Store"]
    assert s.is_main and s.refs["Store"] >= 3


def test_a_file_that_does_not_parse_gets_an_empty_summary() -> None:
    assert summarize(b"def broken(:\n", "python").defs == []
    assert summarize(b"\xff\xfe garbage {{{", "go").lang == "go"


def test_mixed_language_map_ranks_the_shared_module_first(tmp_path: Path) -> None:
    for lang in ("typescript", "go"):
        _needs(lang)
    repo = make_repo(
        tmp_path / "web",
        {
            "package.json": '{"name": "web", "main": "src/index.ts", "scripts": {"start": "node dist/index.js"}}',
            "src/format.ts": "export function formatPrice(cents: number): string { return `${cents}`; }\n",
            "src/cart.ts": "import { formatPrice } from './format';\nexport class Cart { label(): string { return formatPrice(1); } }\n",
            "src/index.ts": "import { formatPrice } from './format';\nimport { Cart } from './cart';\nconsole.log(formatPrice(2), new Cart());\n",
            "src/format.test.ts": "import { formatPrice } from './format';\ntest('x', () => formatPrice(3));\n",
            "src/unused.ts": "export function neverCalled(): void {}\n",
            "go.mod": "module example.com/web\n",
            "cmd/server/main.go": 'package main\n\nimport "example.com/web/internal/store"\n\nfunc main() { store.Open() }\n',
            "internal/store/store.go": "package store\n\nfunc Open() error { return nil }\n",
        },
    )
    text = build_repo_map(repo, tokens=2000)
    assert text.index("src/format.ts:") < text.index("src/unused.ts")
    assert "  function formatPrice(cents: number): string" in text
    assert "src/format.ts:\n  (tested by src/format.test.ts)" in text
    assert "cmd/server/main.go (main)" in text
    assert "src/index.ts (package.json main)" in text
    assert "Config files: go.mod, package.json" in text
