import { readFile, rename, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';

/** GetVideoInfo's statuses the emulator moves a video through. */
export type VideoStatus = 'Uploading' | 'UploadSucc' | 'Transcoding' | 'Normal' | 'TranscodeFail';

export interface VideoRecord {
  videoId: string;
  title: string;
  fileName: string;
  bucket: string;
  object: string;
  description?: string;
  cateId?: number;
  tags?: string;
  fileSize?: number;
  templateGroupId?: string;
  workflowId?: string;
  storageLocation: string;
  userData?: string;
  creationTime: string;
  /** Absent in records written before statuses were kept: then the object's existence decides. */
  status?: VideoStatus;
}

/** VOD's media library: one JSON file, rewritten atomically on every change. */
export class VideoStore {
  private videos = new Map<string, VideoRecord>();
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {}

  async load(): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    try {
      const list = JSON.parse(await readFile(this.file, 'utf8')) as VideoRecord[];
      this.videos = new Map(list.map((v) => [v.videoId, v]));
    } catch {
      this.videos = new Map();
    }
  }

  get(videoId: string): VideoRecord | undefined {
    return this.videos.get(videoId);
  }

  /** The video whose source file is `bucket`/`key`, if any. */
  byObject(bucket: string, key: string): VideoRecord | undefined {
    for (const v of this.videos.values()) if (v.bucket === bucket && v.object === key) return v;
    return undefined;
  }

  /** Records a new status; the change is visible at once, the file follows. */
  async setStatus(videoId: string, status: VideoStatus): Promise<void> {
    const video = this.videos.get(videoId);
    if (video) await this.put({ ...video, status });
  }

  all(): VideoRecord[] {
    return [...this.videos.values()];
  }

  async put(video: VideoRecord): Promise<void> {
    this.videos.set(video.videoId, video);
    const snapshot = JSON.stringify(this.all());
    // Serialise writes so an older snapshot never lands after a newer one.
    this.writing = this.writing.then(async () => {
      const tmp = `${this.file}.${process.pid}.tmp`;
      await writeFile(tmp, snapshot);
      await rename(tmp, this.file);
    });
    await this.writing;
  }
}
