# Django admin (and any date filter) shows a time with its zone: "Dec. 1, 2026, 3:05 p.m. CET".
DATETIME_FORMAT = "N j, Y, P T"
SHORT_DATETIME_FORMAT = "m/d/Y P T"
