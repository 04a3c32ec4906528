"""Quality assurance: which calls a reviewer listens to, how they score them, what it shows.

A QA reviewer's week, in the words of the operators we learned from: sample recordings at random
every day, listen, score each call on a form, play the weak calls to the team and keep the
exemplary ones for training; time is split roughly 4 hours listening, 2 analysing, 1 coaching.

The modules follow that week:

* :mod:`.forms` and :mod:`.scoring`: the scoring forms in ``config/qa/*.yaml`` and the
  weighted score (0-100) with critical items;
* :mod:`.sampling`: the daily/weekly stratified, seeded sample per agent, spread across
  evaluators;
* :mod:`.evaluations`: the stored evaluations and the pending queue per evaluator;
* :mod:`.scorecards`, :mod:`.calibration`, :mod:`.library`: agent scorecards and weekly trends,
  calibration sessions, the library of exemplary calls;
* :mod:`.http` and :mod:`.cli`: the API router and the ``hotline qa`` commands.
"""
