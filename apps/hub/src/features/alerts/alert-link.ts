/**
 * Where a notification points: the alert on the hub, at the address people reach it by
 * (KEYFLEET_PUBLIC_URL, e.g. https://keyfleet.example.com). The hub cannot guess that address
 * behind a proxy, so without the setting notifications carry no link.
 */
export function alertLink(alertId: string, publicUrl = process.env.KEYFLEET_PUBLIC_URL): string | undefined {
  return publicUrl ? `${publicUrl.replace(/\/+$/, '')}/v1/alerts/${encodeURIComponent(alertId)}` : undefined;
}
