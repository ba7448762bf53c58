"""Staff geometry read from the image alone: the staff space and line thickness of a page or crop (`space`).

The scale of everything a detector looks at is set by the staff space (the distance between the centres of two
neighbouring staff lines): a notehead is one staff space tall on every page. Pure numpy.
"""

from omr_core.staff.space import StaffSpaceEstimate, estimate_staff_space

__all__ = ["StaffSpaceEstimate", "estimate_staff_space"]
