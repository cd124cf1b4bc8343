"""Fixtures for driving gateway-sim with the official Stripe SDK.

A session starts the release binary (``$GATEWAY_SIM_BIN``, else
``release/gateway-sim`` in ``$CARGO_TARGET_DIR`` or ``target/``) on 127.0.0.1 port 0, reads the address it prints, and
stops it at the end. Each test gets its own merchant (a fresh API key), so tests
share one simulator without seeing each other's payments or idempotency keys.
"""

import json
import os
import pathlib
import queue
import re
import subprocess
import threading
import time
import urllib.request
import uuid

import pytest
import stripe

REPO = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
BINARY = pathlib.Path(
    os.environ.get("GATEWAY_SIM_BIN", TARGET / "release" / "gateway-sim")
)
LISTENING = re.compile(r"gateway-sim listening on (http://\S+)")
START_TIMEOUT_S = 30


class Simulator:
    """A running gateway-sim process and a look at its ledger."""

    def __init__(self, url, process):
        self.url = url
        self.process = process

    def client(self, api_key, max_network_retries=0):
        """A StripeClient pointed at the simulator: only the base URL changes."""
        return stripe.StripeClient(
            api_key,
            base_addresses={"api": self.url},
            max_network_retries=max_network_retries,
        )

    def ledger(self, merchant):
        """The merchant's ledger entries, in order (``GET /_sim/ledger``, NDJSON)."""
        with urllib.request.urlopen(f"{self.url}/_sim/ledger", timeout=10) as r:
            entries = [json.loads(line) for line in r.read().splitlines() if line]
        return [e for e in entries if e["merchant"] == merchant]


def start_simulator(workdir, scenario=None):
    """Starts the binary, optionally with a scenario file's [gateway] table."""
    if not BINARY.exists():
        raise RuntimeError(
            f"{BINARY} is missing: build it with `cargo build --release -p gateway-sim`"
        )
    args = [str(BINARY), "--listen", "127.0.0.1:0", "--seed", "1"]
    if scenario is not None:
        path = workdir / "scenario.toml"
        path.write_text(scenario)
        args += ["--scenario", str(path)]
    stderr = open(workdir / "gateway-sim.stderr", "w")
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=stderr, text=True, bufsize=1
    )
    stderr.close()
    lines = queue.Queue()

    def pump():
        # Keeps reading so the simulator can never block on a full stdout pipe.
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            log = (workdir / "gateway-sim.stderr").read_text()
            raise RuntimeError(f"gateway-sim exited ({process.wait()}): {log}")
        match = LISTENING.search(line)
        if match:
            return Simulator(match.group(1), process)
    stop_simulator(Simulator("", process))
    raise RuntimeError(f"gateway-sim did not report its address in {START_TIMEOUT_S} s")


def stop_simulator(sim):
    sim.process.terminate()
    try:
        sim.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        sim.process.kill()
        sim.process.wait()


@pytest.fixture(scope="session")
def sim(tmp_path_factory):
    simulator = start_simulator(tmp_path_factory.mktemp("gateway-sim"))
    yield simulator
    stop_simulator(simulator)


@pytest.fixture(scope="module")
def start_sim(tmp_path_factory):
    """``start_sim(scenario)``: another simulator, with a scenario's [gateway]
    table (faults, rate limits...), stopped when the test module ends."""
    started = []

    def start(scenario=None):
        simulator = start_simulator(tmp_path_factory.mktemp("gateway-sim"), scenario)
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        stop_simulator(simulator)


@pytest.fixture
def api_key():
    """A fresh merchant account for each test."""
    return f"sk_test_{uuid.uuid4().hex}"


@pytest.fixture
def client(sim, api_key):
    return sim.client(api_key)


@pytest.fixture
def ledger_of(sim, api_key):
    """``ledger_of(intent_id)``: the ledger entries of one PaymentIntent of this
    test's merchant, as (kind, amount, decline_code). ``pi_X`` is the engine's
    payment ``pay_X``."""

    def entries(intent_id, simulator=None):
        assert intent_id.startswith("pi_"), intent_id
        payment = "pay_" + intent_id[len("pi_") :]
        return [
            (e["kind"], e["amount"], e.get("decline_code"))
            for e in (simulator or sim).ledger(api_key)
            if e["payment_id"] == payment
        ]

    return entries
