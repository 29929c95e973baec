"""Courses and qualifications taken in prison and on probation.

Titles follow the regulated qualifications that prison education providers commonly run;
awarding bodies are ones that offer such qualifications. Durations are typical, not official.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CourseType:
    """A course and the qualification it leads to."""

    course: str
    qualification: str
    level: str
    awarding_bodies: tuple[str, ...]
    weeks: tuple[int, int]
    weight: float


COURSES: tuple[CourseType, ...] = (
    CourseType("English", "Functional Skills Qualification in English at Entry Level 3", "Entry 3",
               ("Pearson", "City & Guilds", "NCFE", "Highfield"), (8, 16), 6.0),
    CourseType("English", "Functional Skills Qualification in English at Level 1", "1",
               ("Pearson", "City & Guilds", "NCFE", "Highfield"), (10, 20), 8.0),
    CourseType("English", "Functional Skills Qualification in English at Level 2", "2",
               ("Pearson", "City & Guilds", "NCFE"), (12, 24), 4.0),
    CourseType("Maths", "Functional Skills Qualification in Mathematics at Entry Level 3",
               "Entry 3", ("Pearson", "City & Guilds", "NCFE", "Highfield"), (8, 16), 6.0),
    CourseType("Maths", "Functional Skills Qualification in Mathematics at Level 1", "1",
               ("Pearson", "City & Guilds", "NCFE", "Highfield"), (10, 20), 8.0),
    CourseType("Maths", "Functional Skills Qualification in Mathematics at Level 2", "2",
               ("Pearson", "City & Guilds", "NCFE"), (12, 24), 3.0),
    CourseType("ESOL", "ESOL Skills for Life at Entry Level 2", "Entry 2",
               ("City & Guilds", "Pearson"), (10, 20), 2.0),
    CourseType("Barbering", "Level 2 Certificate in Barbering", "2", ("City & Guilds",), (16, 30),
               2.0),
    CourseType("Construction (CSCS card)",
               "Level 1 Award in Health and Safety in a Construction Environment", "1",
               ("City & Guilds", "Highfield", "Pearson"), (1, 2), 5.0),
    CourseType("Health and safety", "Level 1 Award in Health and Safety in the Workplace", "1",
               ("Highfield", "City & Guilds"), (1, 3), 4.0),
    CourseType("Food safety", "Level 2 Award in Food Safety in Catering", "2",
               ("Highfield", "City & Guilds"), (1, 2), 4.0),
    CourseType("Catering", "Level 1 Certificate in Introduction to Professional Cookery", "1",
               ("City & Guilds", "NCFE"), (12, 24), 2.5),
    CourseType("Bricklaying", "Level 1 Diploma in Bricklaying", "1", ("City & Guilds",), (16, 30),
               2.0),
    CourseType("Painting and decorating", "Level 1 Diploma in Painting and Decorating", "1",
               ("City & Guilds",), (16, 30), 1.5),
    CourseType("Multi-skills", "Level 1 Certificate in Construction Skills", "1",
               ("City & Guilds", "Pearson"), (12, 26), 2.0),
    CourseType("Digital skills", "Level 1 Certificate in Digital Functional Skills", "1",
               ("Pearson", "NCFE", "City & Guilds"), (8, 16), 3.0),
    CourseType("Customer service", "Level 2 Certificate in Customer Service", "2",
               ("NCFE", "Pearson"), (8, 16), 1.5),
    CourseType("Employability", "Level 1 Award in Employability Skills", "1",
               ("NCFE", "Pearson", "City & Guilds"), (2, 6), 4.0),
    CourseType("Mental health awareness", "Level 2 Certificate in Understanding Mental Health",
               "2", ("NCFE",), (8, 14), 2.0),
    CourseType("Peer mentoring", "Level 2 Certificate in Peer Mentoring", "2",
               ("NCFE", "City & Guilds"), (8, 16), 1.5),
    CourseType("Teaching", "Level 3 Award in Education and Training", "3",
               ("City & Guilds", "Highfield", "Pearson"), (6, 12), 0.7),
    CourseType("Cleaning", "Level 2 Certificate in Cleaning and Support Services Skills", "2",
               ("City & Guilds", "NCFE"), (6, 12), 2.0),
    CourseType("Warehousing", "Level 2 Certificate in Warehousing and Storage", "2",
               ("City & Guilds", "Pearson"), (8, 16), 1.5),
)  # fmt: skip

COURSE_WEIGHTS: tuple[float, ...] = tuple(c.weight for c in COURSES)
