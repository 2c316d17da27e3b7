"""Drop knox's own token table: Attest swaps it for governance.ApiToken (KNOX_TOKEN_MODEL).

django-rest-knox's migrations create ``knox_authtoken`` even when the model is swapped; left in place it
holds a foreign key to users that nothing maintains (and that blocks TRUNCATE of the users table).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("governance", "0002_role_groups"), ("knox", "0009_extend_authtoken_field")]

    operations = [migrations.RunSQL("DROP TABLE IF EXISTS knox_authtoken", migrations.RunSQL.noop)]
