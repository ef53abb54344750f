"""The few widgets the .kv file cannot express: the press-and-hold noodknop and the beat map canvas.

They hold no state of their own beyond drawing; what they show comes from the presenters.
"""

from __future__ import annotations

import time
from typing import Any

from kivy.clock import Clock
from kivy.graphics import Color, Ellipse, Line, Rectangle
from kivy.loader import Loader
from kivy.metrics import dp
from kivy.properties import ObjectProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.stencilview import StencilView


class NoodknopButton(Button):  # type: ignore[misc]
    """Forwards press, hold and release (with the time) to the NoodknopPresenter."""

    presenter = ObjectProperty(None)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ticker: Any = None

    def on_touch_down(self, touch: Any) -> bool:
        if not self.collide_point(*touch.pos) or self.presenter is None:
            return False
        touch.grab(self)
        self.presenter.press(time.monotonic())
        self._ticker = Clock.schedule_interval(lambda _dt: self.presenter.hold(time.monotonic()), 1 / 30)
        return True

    def on_touch_up(self, touch: Any) -> bool:
        if touch.grab_current is not self:
            return False
        touch.ungrab(self)
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        self.presenter.release(time.monotonic())
        return True


class HoldArea(BoxLayout):  # type: ignore[misc]
    """A layout that forwards press, hold and release (with the time) to `presenter`, and shows nothing of it:
    the top bar, held for the silent noodknop. Touches still reach its children first."""

    presenter = ObjectProperty(None)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ticker: Any = None

    def on_touch_down(self, touch: Any) -> bool:
        if bool(super().on_touch_down(touch)):
            return True
        if not self.collide_point(*touch.pos) or self.presenter is None:
            return False
        touch.grab(self)
        self.presenter.press(time.monotonic())
        self._ticker = Clock.schedule_interval(lambda _dt: self.presenter.hold(time.monotonic()), 1 / 10)
        return True

    def on_touch_up(self, touch: Any) -> bool:
        if touch.grab_current is not self:
            return bool(super().on_touch_up(touch))
        touch.ungrab(self)
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        self.presenter.release(time.monotonic())
        return True


class BeatMap(StencilView):  # type: ignore[misc]
    """Draws the MapPresenter's projected beat outlines, track and position (clipped to the widget)."""

    presenter = ObjectProperty(None)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._images: dict[str, Any] = {}  # tile url -> Loader proxy (downloads in the background)

    def on_presenter(self, _: Any, presenter: Any) -> None:
        presenter.bind(
            lines=self._draw,
            other_lines=self._draw,
            marker=self._draw,
            track=self._draw,
            tiles=self._draw,
            partner_markers=self._draw,
            colleague_markers=self._draw,
            task_marker=self._draw,
        )
        self.bind(size=self._resize, pos=self._draw)
        self._resize()

    def _resize(self, *_: Any) -> None:
        if self.presenter is not None:
            self.presenter.layout(self.width, self.height)
            self._draw()

    def _draw(self, *_: Any) -> None:
        p = self.presenter
        self.canvas.clear()
        x0, y0 = self.pos
        with self.canvas:
            Color(1, 1, 1, 1)
            Rectangle(pos=self.pos, size=self.size)
            for x, y, w, h, url in p.tiles:
                image = self._tile(url)
                if image.loaded:
                    Rectangle(texture=image.texture, pos=(x0 + x, y0 + y), size=(w, h))

        def shift(points: list[float]) -> list[float]:
            return [v + (x0 if i % 2 == 0 else y0) for i, v in enumerate(points)]

        with self.canvas:
            Color(0.55, 0.55, 0.6, 1)
            for ring in p.other_lines:
                Line(points=shift(ring), width=dp(1), close=True)
            Color(0.05, 0.35, 0.75, 1)
            for ring in p.lines:
                Line(points=shift(ring), width=dp(3), close=True)
            if len(p.track) >= 4:
                Color(0.85, 0.45, 0.05, 1)
                Line(points=shift(p.track), width=dp(2))
            for px_, py_ in p.partner_markers:  # the duo partner: blue, drawn under the own marker
                Color(1, 1, 1, 1)
                Ellipse(pos=(px_ + x0 - dp(11), py_ + y0 - dp(11)), size=(dp(22), dp(22)))
                Color(0.05, 0.35, 0.75, 1)
                Ellipse(pos=(px_ + x0 - dp(8), py_ + y0 - dp(8)), size=(dp(16), dp(16)))
            for cx_, cy_ in p.colleague_markers:  # a colleague in trouble: a thick red ring, a dark centre
                Color(1, 1, 1, 1)
                Ellipse(pos=(cx_ + x0 - dp(20), cy_ + y0 - dp(20)), size=(dp(40), dp(40)))
                Color(0.80, 0.05, 0.05, 1)
                Line(circle=(cx_ + x0, cy_ + y0, dp(16)), width=dp(4))
                Color(0.35, 0.0, 0.0, 1)
                Ellipse(pos=(cx_ + x0 - dp(7), cy_ + y0 - dp(7)), size=(dp(14), dp(14)))
            if p.task_marker:  # the task's place: an orange square with a dark edge
                tx, ty = p.task_marker[0] + x0, p.task_marker[1] + y0
                Color(0.10, 0.10, 0.10, 1)
                Rectangle(pos=(tx - dp(14), ty - dp(14)), size=(dp(28), dp(28)))
                Color(0.95, 0.55, 0.05, 1)
                Rectangle(pos=(tx - dp(11), ty - dp(11)), size=(dp(22), dp(22)))
            if p.marker:
                mx, my = p.marker[0] + x0, p.marker[1] + y0
                r = max(p.accuracy_px, dp(14))
                Color(0.85, 0.1, 0.1, 0.18)
                Ellipse(pos=(mx - r, my - r), size=(2 * r, 2 * r))
                Color(1, 1, 1, 1)
                Ellipse(pos=(mx - dp(13), my - dp(13)), size=(dp(26), dp(26)))
                Color(0.85, 0.1, 0.1, 1)
                Ellipse(pos=(mx - dp(10), my - dp(10)), size=(dp(20), dp(20)))

    def _tile(self, url: str) -> Any:
        image = self._images.get(url)
        if image is None:
            if len(self._images) > 256:
                self._images.clear()
            image = self._images[url] = Loader.image(url)
            image.bind(on_load=self._draw)
        return image
