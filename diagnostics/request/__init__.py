"""The failed request as rules see it: its context, the action inferred from
the operation, and the gate on actions AWS could not have denied.
"""
