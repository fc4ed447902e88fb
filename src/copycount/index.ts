// Copy accounting: bytes of packet data copied, per copy site.
export {
  COPY_SITE,
  COPY_SITE_NAMES,
  copyBytes,
  countCopy,
  resetCopyCounts,
  type CopySite,
} from './copy-count.ts';
