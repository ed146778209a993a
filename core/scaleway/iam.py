"""IAM v1alpha1: read an API key (its ``expires_at``, to warn before a key expires)."""

from __future__ import annotations

from core.scaleway._calls import ClientBase
from core.scaleway.models import ApiKey
from core.scaleway.permissions import Operation


class IamMixin(ClientBase):
    """The IAM methods of :class:`core.scaleway.client.ScalewayClient`."""

    async def get_api_key(self, access_key: str) -> ApiKey:
        """The API key named by its access key (``SCW…``); needs IAMReadOnly (organization).

        The answer never carries the secret key (the API shows it only at creation), and
        the model would drop it if it did.
        """
        op = Operation.GET_API_KEY
        data = await self._calls.fetch(op, self._calls.path(op, access_key=access_key))
        return self._calls.decode(op, ApiKey, data)
