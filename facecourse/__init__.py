"""facecourse: the training, evaluation and data code behind the deep face recognition course.

Lessons import from here; each name is taught in the lesson noted beside it in the README.
"""
from .exercises import check
from .profiles import Profile, get_profile, list_profiles
from .report import report

__version__ = "0.1.0"
__all__ = ["Profile", "get_profile", "list_profiles", "report", "check"]
