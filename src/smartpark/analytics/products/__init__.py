"""Products and their unit-product energy graded against the national limit standards
(docs/kpis.md, "Unit-product energy against the limit standards"): :mod:`.unit_energy`
computes the product KPI blocks, :mod:`.outputs` places entered output in periods,
:mod:`.committee` sums the grades per park and zone, :mod:`.output_import` reads
``smartpark import output`` sheets."""
