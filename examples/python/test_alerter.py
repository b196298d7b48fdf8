"""End-to-end test of the component in Python (wasmtime-py) against the Discord emulator.

    python -m unittest -v test_alerter        # or: pytest test_alerter.py

ALERTER_BIN may point at the `alerter` binary (default ../../target/release/alerter), which serves
the emulator; ALERTER_WASM at the component. `ask` blocks the calling thread (the GIL is released
meanwhile), so the simulated human is a background thread using the emulator's control API; with
`open` / `wait` / `close` the test thread acts as the human itself between calls.
Tests are numbered: they share one emulator and the last one checks its violations.
"""

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
BIN = os.environ.get("ALERTER_BIN", os.path.join(ROOT, "target", "release", "alerter"))
WASM = os.environ.get(
    "ALERTER_WASM", os.path.join(ROOT, "target", "guest", "wasm32-wasip2", "guest", "alerter_discord.wasm")
)
TOKEN = "python-example-token"

sys.path.insert(0, HERE)
from alerter_wasm import Alerter, AlertError  # noqa: E402


class Emulator:
    """`alerter emulator --port 0` as a child process, stopped by `close`."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [BIN, "emulator", "--port", "0", "--token", TOKEN],
            stdout=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            m = re.search(r"listening on (http://[^/\s]+)(/\S*)", line)
            if m:
                self.base = m.group(1) + m.group(2)
                self.control_base = m.group(1) + "/_emulator"
                self.channel = self.control("GET", "/state")["default_channel_id"]
                # Keep draining stdout so the emulator never blocks on a full pipe.
                threading.Thread(target=self.proc.stdout.read, daemon=True).start()
                return
        self.close()
        raise RuntimeError(f"the emulator ({BIN}) did not start")

    def control(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.control_base + path, data=data, method=method)
        if data is not None:
            req.add_header("content-type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as res:
            raw = res.read()
            return json.loads(raw) if raw else None

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Human(threading.Thread):
    """Waits for a bot message containing `marker`, then answers it via the control API."""

    def __init__(self, emu: Emulator, user_id: str, marker: str, answer) -> None:
        super().__init__(daemon=True)
        self.emu, self.user_id, self.marker, self.answer = emu, user_id, marker, answer
        self.question_id = None
        self.error = None

    def run(self) -> None:
        try:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                msgs = self.emu.control("GET", f"/channels/{self.emu.channel}/messages")
                q = next((m for m in msgs if m["author"].get("bot") and self.marker in m["content"]), None)
                if q:
                    time.sleep(0.3)
                    self.answer(self.emu, self.user_id, q["id"])
                    self.question_id = q["id"]
                    return
                time.sleep(0.1)
            self.error = "the question never appeared"
        except Exception as e:  # reported by the test
            self.error = repr(e)


class AlerterInPython(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.emu = Emulator()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.emu.close()

    def alerter(self, **overrides) -> Alerter:
        kw = dict(
            token=TOKEN,
            api_base_url=self.emu.base,
            default_channel_id=self.emu.channel,
            allowed_hosts=[self.emu.base.split("/")[2]],
        )
        kw.update(overrides)
        return Alerter(WASM, **kw)

    def test_1_post_structured(self) -> None:
        receipt = self.alerter().post(
            {
                "title": "Training finished",
                "body": "Model v3 reached the target accuracy.",
                "metadata": {"accuracy": 0.93, "epochs": 12, "early_stop": False},
            },
            severity="success",
        )
        self.assertEqual(receipt["channel_id"], self.emu.channel)
        self.assertEqual(len(receipt["message_ids"]), 1)
        stored = self.emu.control("GET", f"/channels/{self.emu.channel}/messages")
        msg = next(m for m in stored if m["id"] == receipt["message_ids"][0])
        self.assertTrue(msg["author"]["bot"])
        [embed] = msg["embeds"]
        self.assertEqual(embed["title"], "Training finished")
        self.assertEqual(embed["description"], "Model v3 reached the target accuracy.")
        self.assertEqual(
            [(f["name"], f["value"]) for f in embed["fields"]],
            [("accuracy", "0.93"), ("epochs", "12"), ("early_stop", "false")],
        )

    def test_1b_a_file_rides_along_and_a_webhook_posts_without_a_bot(self) -> None:
        png = b"\x89PNG\r\n\x1a\n\x01\x02\x03"
        receipt = self.alerter().post(
            {"title": "Loss curve", "body": "epoch 12", "images": ["attachment://loss.png"]},
            attachments=[{"filename": "loss.png", "data": png}],
        )
        stored = self.emu.control("GET", f"/channels/{self.emu.channel}/messages")
        msg = next(m for m in stored if m["id"] == receipt["message_ids"][0])
        url = msg["embeds"][0]["image"]["url"]
        self.assertTrue(url.endswith("/loss.png"), url)
        with urllib.request.urlopen(url, timeout=10) as res:
            self.assertEqual(res.read(), png)
        hook = self.emu.control("POST", f"/channels/{self.emu.channel}/webhooks", {"name": "CI"})
        via_hook = self.alerter(token=None, webhook_url=hook["url"]).post("deployed v3")
        stored = self.emu.control("GET", f"/channels/{self.emu.channel}/messages")
        posted = next(m for m in stored if m["id"] == via_hook["message_ids"][0])
        self.assertEqual(posted["webhook_id"], hook["id"])
        self.assertEqual(posted["content"], "deployed v3")

    def test_2_ask_approved_by_reply(self) -> None:
        alice = self.emu.control("POST", "/users", {"username": "alice", "bot": False})
        marker = f"Deploy model v3? [{time.time_ns()}]"

        def reply(emu, uid, qid):
            emu.control("POST", f"/channels/{emu.channel}/messages", {"user_id": uid, "content": "LGTM", "reply_to": qid})

        human = Human(self.emu, alice["id"], marker, reply)
        human.start()
        answer = self.alerter().ask(marker, ask={"timeout_ms": 20_000, "poll_interval_ms": 500})
        human.join(5)
        self.assertIsNone(human.error)
        self.assertEqual(answer["decision"], "approved")
        self.assertTrue(answer["approved"])
        self.assertEqual(answer["responder"], {"id": alice["id"], "username": "alice"})
        self.assertEqual(answer["via"], "reply")
        self.assertEqual(answer["keyword"], "LGTM")
        self.assertEqual(answer["question_message_id"], human.question_id)

    def test_3_ask_declined_by_reaction(self) -> None:
        bob = self.emu.control("POST", "/users", {"username": "bob", "bot": False})
        marker = f"Drop the old table? [{time.time_ns()}]"

        def react(emu, uid, qid):
            emoji = urllib.parse.quote("\u274c")
            emu.control("PUT", f"/channels/{emu.channel}/messages/{qid}/reactions/{emoji}/{uid}")

        human = Human(self.emu, bob["id"], marker, react)
        human.start()
        answer = self.alerter().ask(marker, ask={"timeout_ms": 20_000, "poll_interval_ms": 500})
        human.join(5)
        self.assertIsNone(human.error)
        self.assertEqual(answer["decision"], "disapproved")
        self.assertFalse(answer["approved"])
        self.assertEqual(answer["responder"]["username"], "bob")
        self.assertEqual(answer["via"], "reaction")

    def test_4_allow_list_is_a_config_check_only(self) -> None:
        # wasmtime-py has no egress hook: the allow-list can only vet the configured API base.
        other = f"http://127.0.0.1:{free_port()}/api/v10"
        with self.assertRaises(ValueError):
            self.alerter(api_base_url=other, allowed_hosts=[self.emu.base.split("/")[2]])
        # Allowed (and unreachable): the request does leave, and fails as a transport error.
        with self.assertRaises(AlertError) as cm:
            self.alerter(api_base_url=other, allowed_hosts=None, delivery_deadline_seconds=2).post("hello")
        self.assertEqual(cm.exception.kind, "transport")

    def test_5_missing_token_is_invalid_config(self) -> None:
        with self.assertRaises(AlertError) as cm:
            self.alerter(token=None).post("hello")
        self.assertEqual(cm.exception.kind, "invalid-config")
        self.assertIn("discord_token", str(cm.exception))

    def bot_messages(self) -> list:
        """The bot's messages in the default channel, oldest first."""
        bot_id = self.emu.control("GET", "/state")["bot"]["id"]
        msgs = self.emu.control("GET", f"/channels/{self.emu.channel}/messages")
        return [m for m in msgs if m["author"]["id"] == bot_id]

    def outcome_title(self, message_id: str) -> str:
        """The title of the last embed on a message: the outcome `close` appended."""
        msg = next(m for m in self.bot_messages() if m["id"] == message_id)
        return (msg["embeds"][-1].get("title") or "") if msg["embeds"] else ""

    def test_6_a_retried_job_with_the_same_key_resumes_the_open_question(self) -> None:
        carol = self.emu.control("POST", "/users", {"username": "carol", "bot": False})
        key = f"deploy-{time.time_ns()}"
        settings = {"timeout_ms": 60_000, "poll_interval_ms": 200, "key": key}
        marker = f"Deploy build 43? [{key}]"
        before = len(self.bot_messages())

        # The first run opens the question, looks once, then "dies": nothing calls it again.
        first = self.alerter().open(marker, ask=settings)
        self.assertTrue(first["posted"])
        self.assertIsNone(first["answer"])
        qid = first["question"]["message_id"]
        self.assertIn("open", self.alerter().wait(first["question"], 0, ask=settings))
        self.assertEqual(len(self.bot_messages()), before + 1)

        # While nothing waits, a human approves with a reaction.
        emoji = urllib.parse.quote("\u2705")
        self.emu.control("PUT", f"/channels/{self.emu.channel}/messages/{qid}/reactions/{emoji}/{carol['id']}")

        # The retried job (a fresh instance, as a new process would be) opens with the same key.
        retry = self.alerter()
        second = retry.open(marker, ask=settings)
        self.assertEqual(second["question"], first["question"], "the same question is found")
        self.assertEqual(second["asked_at"], first["asked_at"], "its timeout still counts from the first run")
        self.assertTrue(second["posted"] is False or second["answer"] is not None, second)
        if second["answer"] is not None:
            self.assertEqual(second["answer"]["decision"], "approved")
        status = retry.wait(second["question"], 5_000, ask=settings)
        self.assertIn("done", status)
        answer = status["done"]
        self.assertEqual(answer["decision"], "approved")
        self.assertEqual(answer["responder"], {"id": carol["id"], "username": "carol"})
        self.assertEqual(answer["via"], "reaction")
        self.assertEqual(answer["question_message_id"], qid)
        self.assertEqual(answer["reminders_sent"], 0)
        self.assertFalse(answer["escalated"])
        retry.close(second["question"], answer, ask=settings)
        self.assertIn("Approved", self.outcome_title(qid))

        # Once decided and closed, the key answers at once, from the question itself.
        third = self.alerter().open(marker, ask=settings)
        self.assertFalse(third["posted"])
        self.assertIsNotNone(third["answer"], "a decided key returns its answer")
        self.assertEqual(third["answer"]["decision"], "approved")
        self.assertEqual(third["answer"]["responder"], answer["responder"])
        self.assertEqual(len(self.bot_messages()), before + 1, "no second question was posted")

    def test_7_close_with_a_cancellation_text_marks_the_question_cancelled(self) -> None:
        settings = {"timeout_ms": 60_000, "poll_interval_ms": 200}
        alerter = self.alerter()
        opened = alerter.open(f"Rotate the keys? [{time.time_ns()}]", ask=settings)
        self.assertTrue(opened["posted"])
        progress = alerter.wait(opened, 0, ask=settings)["open"]
        self.assertEqual(
            (progress["approvers"], progress["reminders_sent"], progress["escalated"]), ([], 0, False)
        )
        self.assertIsInstance(progress["resume"], str)
        alerter.close(opened, "interrupted", ask=settings)
        self.assertIn("Cancelled", self.outcome_title(opened["question"]["message_id"]))

    def test_9_no_violations(self) -> None:
        self.assertEqual(self.emu.control("GET", "/violations"), [])


if __name__ == "__main__":
    unittest.main()
