import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Append-only: there is no update path. A correction is a new note with `amendsNoteId`. */
@Entity('notes')
export class NoteEntity {
  @PrimaryColumn({ type: 'char', length: 36 }) id: string;
  @Column({ name: 'call_id', type: 'char', length: 36 }) callId: string;
  @Column({ name: 'author_id', type: 'char', length: 36 }) authorId: string;
  @Column({ name: 'amends_note_id', type: 'char', length: 36, nullable: true }) amendsNoteId: string | null;
  /** AES-256-GCM under the call's data key; AAD binds it to call and field. */
  @Column({ name: 'body_enc', type: 'blob' }) bodyEnc: Buffer;
  @Column({ name: 'created_at', type: 'datetime', precision: 3 }) createdAt: Date;
}
