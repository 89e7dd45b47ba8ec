"""Subject and program TAGS codes of State Department telegrams, with their names.

Data, not code. ``SUBJECTS``: every code of the subject list shipped with the shared corpus
(``corpus/vocab/subject-tags.txt``, from the cablemap project, BSD, (c) 2011-2012 Lars Heuer);
the names were written in here from the State Department's TAGS/Terms handbook, because the
list carries codes only. ``PROGRAMS``: program (K...) and a few older subject codes that are
common in the release but not on that list, entered by hand from the same handbook. A code
whose name is not known with confidence is left out rather than guessed.
"""

from __future__ import annotations

SUBJECTS = """
AADP|Automated Data Processing
ABLD|Buildings and Grounds
ABUD|Budget Services
ACOA|Communications Operations and Administration
ACKM|Cryptographic Key Management
ADCO|Diplomatic Courier Operations
ADPM|Diplomatic Pouch and Mail
AEMR|Emergency Planning and Evacuation
AFIN|Financial Management
AFSI|Foreign Service Institute and Training
AFSN|Foreign Service National Personnel
AGAO|General Accounting Office Inquiries
AINF|Information Management Services
AINR|Intelligence and Research Administration
AINT|Internet Administration
ALOW|Allowances
AMED|Medical Services
AMGT|Management Operations
AMTC|Meetings and Conferences Administration
ANET|Network Administration
AODE|Overseas Dependents Education
AOMS|Office Management Services
AORC|International Organizations and Conferences (administration)
APCS|Computer and Physical Security
APER|Personnel
ASCH|Schools Abroad
ASEC|Security
ASIG|Inspector General
BBSR|Business Services Reporting
BEXP|Business and Export Promotion
BMGT|Commercial Management
BTIO|Trade and Investment Opportunities
CASC|Assistance to US Citizens
CFED|Federal Agencies' Consular Services
CJAN|Judicial Assistance and Notarial Services
CLOK|Visa Lookout
CMGT|Consular Management
CPAS|Passports and Citizenship
CVIS|Visas
EAGR|Agriculture and Forestry
EAID|Foreign Economic Assistance
EAIR|Civil Aviation
ECON|Economic Conditions
ECPS|Communications and Postal Systems
EFIN|Financial and Monetary Affairs
EFIS|Commercial Fishing and Fish Processing
EIND|Industry and Manufacturing
EINT|Economic and Commercial Internet
EINV|Foreign Investments
ELAB|Labor Sector Affairs
ELTN|Land Transportation
EMIN|Minerals and Metals
ENRG|Energy and Power
EPET|Petroleum and Natural Gas
ETRD|Foreign Trade
ETTC|Trade and Technology Controls
EWWT|Waterborne Transportation
MARR|Military and Defense Arrangements
MASS|Military Assistance and Sales
MCAP|Military Capabilities
MNUC|Military Nuclear Applications
MOPS|Military Operations
ODIP|US Diplomatic Representation
OEXC|Educational and Cultural Exchange
OFDP|Foreign Diplomats and Foreign Missions
OIIP|International Information Programs
OPDC|Diplomatic Correspondence
OPRC|Public Relations and Correspondence
OREP|US Congressional Travel
OSCI|Science Grants and Exchanges
OTRA|Travel
OVIP|Visits of Prominent Individuals
PARM|Arms Controls and Disarmament
PBTS|National Boundaries, Territories and Sovereignty
PGOV|Internal Governmental Affairs
PHSA|High Seas Affairs
PHUM|Human Rights
PINR|Political Intelligence
PINS|National Security
PNAT|National Independence
PREF|Refugees
PREL|External Political Relations
PROP|Propaganda and Psychological Operations
PTER|Terrorists and Terrorism
SCUL|Cultural Affairs
SENV|Environmental Affairs
SMIG|Migration
SNAR|Narcotics
SOCI|Social Conditions
TBIO|Biological and Medical Science
TINT|Internet Technology
TNGD|Nuclear Energy Generation and Development
TPHY|Physical Sciences
TRGY|Energy Technology
TSPA|Space Activities
TSPL|Science and Technology Policy
"""

PROGRAMS = """
PINT|Internal Political Affairs
KAWC|Atrocities and War Crimes
KCOR|Corruption
KCRM|Criminal Activity
KDEM|Democratization
KFLU|Avian and Pandemic Influenza
KGHG|Greenhouse Gases
KHIV|HIV/AIDS
KHLS|Homeland Security
KIPR|Intellectual Property Rights
KIRF|International Religious Freedom
KISL|Islamic Affairs
KJUS|Administration of Justice
KMCA|Millennium Challenge Account
KMDR|Media Reaction
KNNP|Nuclear Nonproliferation
KOLY|Olympic Games
KPAL|Palestinian Affairs
KPAO|Public Affairs Office
KPKO|Peacekeeping Operations
KSUM|Summit Meetings
KTFN|Terrorist Financing
KTIP|Trafficking in Persons
KWBG|West Bank and Gaza
KWMN|Women's Issues
XA|Africa (region)
XF|Middle East (region)
XL|Caribbean (region)
XM|Latin America (region)
"""
