"""The lab model: what a lab is, independent of Pulumi resources.

Config validation (:mod:`lab.config`), Azure names (:mod:`lab.naming`), role ids
and rules (:mod:`lab.roles`), placement of students on subscriptions
(:mod:`lab.placement`), the lab's data (:mod:`lab.data`) and the notebooks'
parameters contract (:mod:`lab.notebook_params`). Nothing here declares a
resource; everything else imports it.
"""
