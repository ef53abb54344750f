"""`python -m mobile`: the boa tablet app."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m mobile",
        description="Schakel: the boa tablet app (Kivy).",
        epilog="Try it against the demo: `make run`, then `python -m mobile --simulate` and log in as boa01 "
        "(password schakel-demo) with the number of `demo-tablet` (--simulate fills in its koppelcode).",
    )
    parser.add_argument(
        "--server",
        default=os.environ.get("SCHAKEL_SERVER", "http://127.0.0.1:8000"),
        help="backend base URL (env SCHAKEL_SERVER; default %(default)s)",
    )
    parser.add_argument(
        "--device-id",
        type=int,
        default=_env_int("SCHAKEL_DEVICE_ID"),
        help="this tablet's registered device id (env SCHAKEL_DEVICE_ID); asked at login if unset",
    )
    parser.add_argument(
        "--device-secret",
        default=os.environ.get("SCHAKEL_DEVICE_SECRET") or None,
        help="this tablet's enrolment secret (env SCHAKEL_DEVICE_SECRET), shown once to the team lead who "
        "enrolled it; asked at the first login if unset, then kept; --simulate uses the demo seed's",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("SCHAKEL_MOBILE_DATA", "mobile-data")),
        help="where the outbox and the session are kept (default %(default)s)",
    )
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="simulate GPS: walk along the chosen beat (for desktops; Android uses its GPS)",
    )
    parser.add_argument("--speed", type=float, default=1.0, help="simulated walking speed factor")
    parser.add_argument(
        "--no-motion-s",
        type=float,
        default=float(
            os.environ.get("SCHAKEL_NO_MOTION_S", "30")
        ),  # safety.NO_MOTION_S (no kivy import here)
        help="man-down: seconds without motion (working alone) before the pre-alarm; 0: tilt only "
        "(env SCHAKEL_NO_MOTION_S, default %(default)s)",
    )
    parser.add_argument(
        "--tiles-url",
        default=os.environ.get("SCHAKEL_TILES_URL", ""),
        help="map background tiles URL template ({z}/{x}/{y}), e.g. PDOK's; default none",
    )
    parser.add_argument("--size", default="1280x800", help="window size on a desktop (default %(default)s)")
    parser.add_argument(
        "--tour",
        type=Path,
        metavar="DIR",
        help="walk through every screen against the server, save tablet-*.png in DIR, exit",
    )
    return parser.parse_args(argv)


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value and value.isdigit() else None


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.tour is not None and args.device_id is None:
        # the tour logs in without anyone to type the tablet number: say so instead of failing in the window
        sys.exit(
            "python -m mobile --tour: give the tablet number with --device-id N (or SCHAKEL_DEVICE_ID); "
            "`make run` prints the demo tablet's number"
        )
    if "ANDROID_ARGUMENT" in os.environ and not os.environ.get("SCHAKEL_MOBILE_DATA"):
        from android.storage import app_storage_path

        args.data_dir = Path(app_storage_path()) / "schakel"
    os.environ.setdefault("KIVY_NO_ARGS", "1")  # our options, not Kivy's
    width, _, height = args.size.partition("x")
    from kivy.config import Config

    Config.set("graphics", "width", width)
    Config.set("graphics", "height", height)
    Config.set("input", "mouse", "mouse,disable_multitouch")
    from mobile.app import run

    sys.exit(run(args))


if __name__ == "__main__":
    main()
