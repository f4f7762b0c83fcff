"""A deliberately vulnerable order service: every handler here has a flaw
that `codex-agent review` must report. Never deploy this."""

import pickle
import sqlite3
import subprocess

import yaml

from config import DATABASE


def find_orders(customer):
    db = sqlite3.connect(DATABASE)
    query = "SELECT id, total FROM orders WHERE customer = '" + customer + "'"
    return db.execute(query).fetchall()


def ping_warehouse(host):
    return subprocess.check_output("ping -c 1 " + host, shell=True)


def restore_cart(request_body):
    return pickle.loads(request_body)


def load_rules(text):
    return yaml.load(text, Loader=yaml.Loader)
