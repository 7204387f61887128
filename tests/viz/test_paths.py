"""Paths clipped for drawing: a run that flies off the map stays drawable and keeps its steps."""

from __future__ import annotations

import numpy as np

from optlab.viz.paths import clip_path, clipped_exit, segment_exit

BOUNDS = (-1.0, 1.0, -1.0, 1.0)


def test_a_path_inside_the_far_box_is_unchanged():
    xy = np.array([[0.0, 0.0], [5.0, -3.0], [0.5, 0.5]])  # off the map but within 10 spans
    np.testing.assert_array_equal(clip_path(xy, BOUNDS), xy)


def test_an_excursion_is_cut_at_the_far_box_and_keeps_its_indexes():
    xy = np.array([[0.0, 0.0], [1e30, 0.0], [np.nan, np.nan], [1e30, 1e30], [0.0, 0.5]])
    out = clip_path(xy, BOUNDS, far=10.0)
    assert out.shape == xy.shape
    np.testing.assert_allclose(out[1], [21.0, 0.0])  # the exit: x1 + 10 spans of 2
    assert np.isnan(out[2]).all()
    # the re-entry point: on the far box's top edge, on the line back to (0, 0.5)
    np.testing.assert_allclose(out[3], [20.5, 21.0], rtol=1e-6)
    np.testing.assert_array_equal(out[[0, 4]], xy[[0, 4]])


def test_segment_exit_lies_on_the_box_edge_between_the_points():
    p, q = np.array([0.0, 0.0]), np.array([4.0, 2.0])
    e = segment_exit(p, q, BOUNDS)
    np.testing.assert_allclose(e, [1.0, 0.5])


def test_clipped_exit_is_where_the_path_last_left_the_map():
    left = np.array([[0.0, 0.0], [0.5, 0.0], [3.0, 0.0], [9.0, 0.0]])
    np.testing.assert_allclose(clipped_exit(left, BOUNDS), [1.0, 0.0])
    stays = np.array([[0.0, 0.0], [0.2, -0.3]])
    np.testing.assert_allclose(clipped_exit(stays, BOUNDS), [0.2, -0.3])
    never = np.array([[5.0, 5.0], [7.0, -9.0]])  # never on the map: its end, pinned to the edge
    np.testing.assert_allclose(clipped_exit(never, BOUNDS), [1.0, -1.0])
