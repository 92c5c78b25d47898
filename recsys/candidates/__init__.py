"""Candidate generation: each source nominates items for a user."""

from recsys.candidates.ann_mf import MFRetrieval
from recsys.candidates.base import Candidate, CandidateSource, Request
from recsys.candidates.popular import MostPopular

__all__ = ["Candidate", "CandidateSource", "MFRetrieval", "MostPopular", "Request"]
