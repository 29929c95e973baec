"""The words the sharing policy is written in: purposes, lawful bases, actions, record kinds, roles.

They are string enums so that the policy files, the database and the ledger all hold plain
strings, and a misspelling anywhere is caught by comparing against one list.
"""

from __future__ import annotations

from enum import StrEnum

from onestory.domain.base import AgencyKind


class Purpose(StrEnum):
    """Why data is processed; every agreement names the purposes it serves."""

    INVESTIGATION = "investigation"
    PROSECUTION = "prosecution"
    WITNESS_CARE = "witness_care"
    VICTIM_SUPPORT = "victim_support"
    OFFENDER_MANAGEMENT = "offender_management"
    REHABILITATION = "rehabilitation"
    COMPENSATION = "compensation"
    STATISTICS = "statistics"
    OWN_ACCESS = "own_access"
    # Running OneStory itself: accounts, keys and agreements (never people's case records).
    ADMINISTRATION = "administration"
    # Answering a victim's complaint that a right was not met (Victims' Code, Right 12).
    COMPLAINT_HANDLING = "complaint_handling"


class LawfulBasis(StrEnum):
    """What makes the processing lawful."""

    # DPA 2018 Part 3: necessary for a law enforcement task (s31, s35(2)(b)).
    LAW_ENFORCEMENT = "law_enforcement"
    # A duty set by statute, e.g. the Victim Contact Scheme (DVCVA 2004 s35).
    STATUTORY_DUTY = "statutory_duty"
    # DPA 2018 s35(2)(a) or UK GDPR art 6(1)(a); the only basis that can be withdrawn.
    CONSENT = "consent"


class Action(StrEnum):
    """What an actor does with a record."""

    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    SHARE = "share"
    EXPORT = "export"


class RecordKind(StrEnum):
    """The kinds of record a rule can cover."""

    VICTIM = "victim"
    VICTIM_STORY = "victim_story"
    VICTIM_CONTACT = "victim_contact"
    PERSON = "person"
    CASE = "case"
    HEARING = "hearing"
    CUSTODY = "custody"
    PROBATION = "probation"
    LEARNING_RECORD = "learning_record"
    EVIDENCE = "evidence"
    STATISTICS = "statistics"
    # An account: who someone is in OneStory (name, email, role) and their access history.
    USER = "user"
    # A victim's complaint to one organisation, and its reply.
    COMPLAINT = "complaint"
    # A row an agency sent that could not be read, kept whole until its own staff correct or
    # withdraw it (its own kind, so that correcting rows grants nothing over people's records).
    QUARANTINED_ROW = "quarantined_row"


# The kinds of organisation a role can belong to are the common model's agency kinds.
OrganisationKind = AgencyKind


class Role(StrEnum):
    """What a user or system client does (``UserAccount.role``)."""

    POLICE_OFFICER = "police_officer"
    CPS_PROSECUTOR = "cps_prosecutor"
    COURT_OFFICER = "court_officer"
    WITNESS_CARE_OFFICER = "witness_care_officer"
    PRISON_OFFICER = "prison_officer"
    PROBATION_OFFICER = "probation_officer"
    VICTIM_SUPPORT_WORKER = "victim_support_worker"
    EDUCATION_PROVIDER = "education_provider"
    COMPENSATION_CASEWORKER = "compensation_caseworker"
    ANALYST = "analyst"
    VICTIM = "victim"
    EMPLOYER_VERIFIER = "employer_verifier"
    ADMINISTRATOR = "administrator"
    # A defendant's solicitor or counsel, who receives disclosed evidence (CPIA 1996).
    DEFENCE_LAWYER = "defence_lawyer"
    # A person who holds a skills passport (in prison, on probation or after), acting for
    # themselves.
    LEARNER = "learner"


# The kind of organisation each role works in. None: the role belongs to no organisation
# (members of the public, and central staff who act for OneStory itself), so an actor holding
# it must have no organisation either; a role can never be borrowed by another agency's staff.
ROLE_ORGANISATION_KIND: dict[str, OrganisationKind | None] = {
    Role.POLICE_OFFICER: OrganisationKind.POLICE,
    Role.CPS_PROSECUTOR: OrganisationKind.CPS,
    Role.COURT_OFFICER: OrganisationKind.COURT,
    Role.WITNESS_CARE_OFFICER: OrganisationKind.WITNESS_CARE,
    Role.PRISON_OFFICER: OrganisationKind.PRISON,
    Role.PROBATION_OFFICER: OrganisationKind.PROBATION,
    Role.VICTIM_SUPPORT_WORKER: OrganisationKind.VICTIM_SUPPORT,
    Role.EDUCATION_PROVIDER: OrganisationKind.EDUCATION,
    Role.COMPENSATION_CASEWORKER: OrganisationKind.COMPENSATION,
    Role.ANALYST: None,
    Role.VICTIM: None,
    Role.EMPLOYER_VERIFIER: OrganisationKind.EMPLOYER,
    Role.ADMINISTRATOR: None,
    Role.DEFENCE_LAWYER: OrganisationKind.DEFENCE,
    Role.LEARNER: None,
}
