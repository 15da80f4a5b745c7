/** The parsed retention file is provided once, by HotlineConfigModule, under this token. */
export { RETENTION_CONFIG } from '@hotline/config';
