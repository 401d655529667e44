"""Django forms, by audience: the customer pages (:mod:`.customer`), the console
(:mod:`.console`), GDPR (:mod:`.gdpr`) and legal holds (:mod:`.holds`). The API checks request
bodies with the same forms, so a rule is written once.

May import the domain (they call its rules); the pages and the API import them.
"""
