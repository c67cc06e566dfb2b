"""Reaching a person outside chat: contact points, personal notification rules, the acknowledgement PIN."""
