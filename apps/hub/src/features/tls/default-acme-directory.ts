/** Let's Encrypt production, unless the hub is told otherwise (KEYFLEET_ACME_DIRECTORY_URL) or the request names one. */
export const defaultAcmeDirectory = () => process.env.KEYFLEET_ACME_DIRECTORY_URL || 'https://acme-v02.api.letsencrypt.org/directory';
